package io.mqttdynamo.broker;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Tells the client ids of every replica's own connections ({@code <replica>-<connection>}) from users'. */
final class ReplicaIds {

    /**
     * What follows a replica's client-id base in its connections' ids: the ingest channels, the cluster view, the
     * retained witness and its republishers and scans, the version probe.
     */
    static final String CONNECTIONS =
            "(?:client-events|messages|acks|cluster|retained(?:-[A-Za-z0-9-]+)?|probe-[A-Za-z0-9]+)";
    /** A StatefulSet pod's name: the set's name and the pod's ordinal. */
    private static final Pattern ORDINAL = Pattern.compile("(.+)-(\\d+)");
    /** The start of the client-id base when none is configured (followed by the host name). */
    static final String DEFAULT_PREFIX = "mqtt-dynamo-";

    private final Pattern own;
    private final String description;

    private ReplicaIds(String replicas, String description) {
        this.own = Pattern.compile(replicas + "-" + CONNECTIONS);
        this.description = description;
    }

    /**
     * The replicas' bases, from what all replicas share: the configured {@code prefix}; else the StatefulSet's
     * name when {@code base} is a pod's name ({@code <set>-<ordinal>}: every ordinal); else, for the default base
     * ({@code configured} empty), every host's default; else this replica alone.
     */
    static ReplicaIds of(String base, boolean configured, Optional<String> prefix) {
        if (prefix.isPresent() && !prefix.get().isEmpty()) {
            return new ReplicaIds(Pattern.quote(prefix.get()) + ".*", "'" + prefix.get() + "…'");
        }
        if (!configured) {
            return new ReplicaIds(Pattern.quote(DEFAULT_PREFIX) + ".+", "'" + DEFAULT_PREFIX + "<host>'");
        }
        Matcher pod = ORDINAL.matcher(base);
        if (pod.matches()) {
            return new ReplicaIds(Pattern.quote(pod.group(1) + "-") + "\\d+", "'" + pod.group(1) + "-<ordinal>'");
        }
        return new ReplicaIds(Pattern.quote(base), "'" + base + "' only");
    }

    /** True for the id of a connection some replica opens. */
    boolean isReplicaConnection(String clientId) {
        return own.matcher(clientId).matches();
    }

    /** Which replicas' bases are recognised, for the start-up log. */
    String description() {
        return description;
    }
}
