package io.mqttdynamo.domain;

import java.util.Objects;

/**
 * An MQTT topic filter ({@code +} and {@code #} wildcards, {@code $share/<group>/} and {@code $queue/}
 * prefixes) that decides which topics a hook or a subscription applies to.
 */
public final class TopicFilter {

    private final String filter;
    private final String[] levels;

    private TopicFilter(String filter, String matchPart) {
        this.filter = filter;
        this.levels = matchPart.split("/", -1);
    }

    /** Parses a filter, refusing what MQTT refuses, with the reason in the message. */
    public static TopicFilter parse(String filter) {
        if (filter == null || filter.isEmpty()) {
            throw new IllegalArgumentException("a topic filter must not be empty");
        }
        if (filter.indexOf('\u0000') >= 0) {
            throw new IllegalArgumentException("a topic filter must not contain NUL: " + filter);
        }
        String matchPart = filter;
        if (filter.startsWith("$share/")) {
            int slash = filter.indexOf('/', "$share/".length());
            if (slash < 0 || slash == "$share/".length() || slash == filter.length() - 1) {
                throw new IllegalArgumentException(
                        "a shared subscription reads $share/<group>/<filter>, got: " + filter);
            }
            matchPart = filter.substring(slash + 1);
        } else if (filter.startsWith("$queue/")) {
            matchPart = filter.substring("$queue/".length());
        }
        String[] levels = matchPart.split("/", -1);
        for (int i = 0; i < levels.length; i++) {
            String level = levels[i];
            if (level.contains("#") && (!level.equals("#") || i != levels.length - 1)) {
                throw new IllegalArgumentException("'#' must be a whole level and the last one: " + filter);
            }
            if (level.contains("+") && !level.equals("+")) {
                throw new IllegalArgumentException("'+' must be a whole level: " + filter);
            }
        }
        return new TopicFilter(filter, matchPart);
    }

    /** True when {@code topic} (a topic name, no wildcards) is matched by this filter. */
    public boolean matches(String topic) {
        if (topic == null || topic.isEmpty()) {
            return false;
        }
        // Topics beginning with '$' are not matched by a filter that begins with a wildcard.
        if (topic.charAt(0) == '$' && (levels[0].equals("#") || levels[0].equals("+"))) {
            return false;
        }
        int start = 0;
        for (int i = 0; i < levels.length; i++) {
            String level = levels[i];
            if (level.equals("#")) {
                return true;
            }
            if (start > topic.length()) {
                return false;
            }
            int end = topic.indexOf('/', start);
            if (end < 0) {
                end = topic.length();
            }
            boolean wildcard = level.equals("+");
            if (!wildcard && (level.length() != end - start || !topic.regionMatches(start, level, 0, end - start))) {
                return false;
            }
            start = end + 1;
        }
        return start == topic.length() + 1;
    }

    /** True when this filter holds a wildcard. */
    public boolean hasWildcard() {
        for (String level : levels) {
            if (level.equals("+") || level.equals("#")) {
                return true;
            }
        }
        return false;
    }

    /** The filter as written. */
    public String value() {
        return filter;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TopicFilter other && filter.equals(other.filter);
    }

    @Override
    public int hashCode() {
        return Objects.hash(filter);
    }

    @Override
    public String toString() {
        return filter;
    }
}
