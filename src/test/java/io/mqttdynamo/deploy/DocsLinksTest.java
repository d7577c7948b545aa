package io.mqttdynamo.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * Keeps the documentation's links honest: every relative link in {@code README.md} and {@code docs/*.md}
 * names a file that exists, and every {@code #anchor} names a heading (GitHub's slugs) of the page it points
 * to. Links inside code spans and fenced code blocks are not links; {@code http(s):} and {@code mailto:}
 * addresses are not checked.
 */
class DocsLinksTest {

    /** {@code [text](target)} and {@code ![alt](target)}; the target up to the first space or closing parenthesis. */
    private static final Pattern LINK =
            Pattern.compile("!?\\[[^\\]]*\\]\\(\\s*<?([^)\\s>]+)>?(?:\\s+\"[^\"]*\")?\\s*\\)");

    private static final Pattern HEADING = Pattern.compile("^ {0,3}(#{1,6})\\s+(.*?)\\s*#*\\s*$");
    private static final Pattern HTML_ANCHOR = Pattern.compile("<a\\s+(?:name|id)=\"([^\"]+)\"");

    @Test
    void relativeLinksAndAnchorsResolve() throws IOException {
        List<Path> pages = new ArrayList<>();
        pages.add(Path.of("README.md"));
        try (Stream<Path> docs = Files.list(Path.of("docs"))) {
            docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(pages::add);
        }
        assertThat(pages).as("README.md and the pages in docs/").hasSizeGreaterThan(1);

        Map<Path, Set<String>> anchorsByPage = new HashMap<>();
        List<String> broken = new ArrayList<>();
        for (Path page : pages) {
            for (String target : links(Files.readString(page))) {
                if (target.matches("(?i)^(https?|mailto|ftp):.*")) {
                    continue;
                }
                int hash = target.indexOf('#');
                String file = hash < 0 ? target : target.substring(0, hash);
                String anchor = hash < 0 ? null : target.substring(hash + 1);
                Path resolved = file.isEmpty()
                        ? page
                        : page.toAbsolutePath().getParent().resolve(file).normalize();
                if (!Files.exists(resolved)) {
                    broken.add(page + ": " + target + " (no such file)");
                    continue;
                }
                if (anchor == null || anchor.isEmpty()) {
                    continue;
                }
                if (!resolved.toString().endsWith(".md")) {
                    broken.add(page + ": " + target + " (an anchor into a file that is not Markdown)");
                    continue;
                }
                Set<String> anchors =
                        anchorsByPage.computeIfAbsent(resolved.toAbsolutePath().normalize(), p -> {
                            try {
                                return anchors(Files.readString(p));
                            } catch (IOException e) {
                                throw new IllegalStateException(e);
                            }
                        });
                if (!anchors.contains(anchor)) {
                    broken.add(page + ": " + target + " (no heading with that anchor)");
                }
            }
        }
        assertThat(broken).as("links to missing files or anchors").isEmpty();
    }

    @Test
    void slugsAreGitHubs() {
        assertThat(anchors("""
                ## What is guaranteed
                ### 2b. Replicas
                ## `on_retain_lookup`: retained messages in step
                ## EMQX 5
                ## EMQX 5
                ## Dashboard and API (JSON)
                """))
                .contains(
                        "what-is-guaranteed",
                        "2b-replicas",
                        "on_retain_lookup-retained-messages-in-step",
                        "emqx-5",
                        "emqx-5-1",
                        "dashboard-and-api-json");
        assertThat(links("""
                [a](x.md#y) `[b](not-a-link.md)`
                ```
                [c](neither.md)
                ```
                ![d](img.png) <https://example.com> [e](https://example.com/z)
                """)).containsExactly("x.md#y", "img.png", "https://example.com/z");
    }

    /** The link targets of a page, outside code. */
    static List<String> links(String markdown) {
        List<String> targets = new ArrayList<>();
        for (String line : prose(markdown)) {
            Matcher link = LINK.matcher(line.replaceAll("`[^`]*`", ""));
            while (link.find()) {
                targets.add(link.group(1));
            }
        }
        return targets;
    }

    /** The anchors a page offers: its headings' GitHub slugs (repeats get -1, -2, …) and explicit HTML anchors. */
    static Set<String> anchors(String markdown) {
        Set<String> anchors = new HashSet<>();
        Map<String, Integer> seen = new HashMap<>();
        for (String line : prose(markdown)) {
            Matcher heading = HEADING.matcher(line);
            if (heading.matches()) {
                String slug = slug(heading.group(2));
                int count = seen.merge(slug, 1, Integer::sum);
                anchors.add(count == 1 ? slug : slug + "-" + (count - 1));
            }
            Matcher html = HTML_ANCHOR.matcher(line);
            while (html.find()) {
                anchors.add(html.group(1));
            }
        }
        return anchors;
    }

    /** GitHub's heading slug: the text as shown, lower case, punctuation dropped, spaces as hyphens. */
    static String slug(String heading) {
        String text = heading.replaceAll("!?\\[([^\\]]*)\\]\\([^)]*\\)", "$1").replaceAll("<[^>]+>", "");
        return text.toLowerCase(Locale.ROOT)
                .replaceAll("[^\\p{L}\\p{N}\\p{M}\\p{Pc}\\- ]", "")
                .replace(' ', '-');
    }

    /** The lines outside fenced code blocks. */
    private static List<String> prose(String markdown) {
        List<String> lines = new ArrayList<>();
        String fence = null;
        for (String line : markdown.split("\n", -1)) {
            String trimmed = line.strip();
            if (fence == null && (trimmed.startsWith("```") || trimmed.startsWith("~~~"))) {
                fence = trimmed.substring(0, 3);
            } else if (fence != null && trimmed.startsWith(fence)) {
                fence = null;
            } else if (fence == null) {
                lines.add(line);
            }
        }
        return lines;
    }
}
