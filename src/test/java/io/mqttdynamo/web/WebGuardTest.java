package io.mqttdynamo.web;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import io.vertx.core.net.SocketAddress;

/** Which TCP peers count as local when no dashboard password is set. */
class WebGuardTest {

    @Test
    void loopbackPeersAreLocal() {
        for (String host :
                new String[] {"127.0.0.1", "127.0.0.6", "127.255.255.254", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"
                }) {
            assertThat(WebGuard.fromLoopback(SocketAddress.inetSocketAddress(40_000, host)))
                    .as(host)
                    .isTrue();
        }
        assertThat(WebGuard.fromLoopback(SocketAddress.domainSocketAddress("/run/mqtt-dynamo.sock")))
                .isTrue();
    }

    @Test
    void everyOtherPeerIsRemote() {
        for (String host : new String[] {
            "10.0.0.7",
            "192.168.1.20",
            "203.0.113.7",
            "0.0.0.0",
            "128.0.0.1",
            "::",
            "fe80::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
            "localhost",
            "127.0.0.1.example.com"
        }) {
            assertThat(WebGuard.fromLoopback(SocketAddress.inetSocketAddress(40_000, host)))
                    .as(host)
                    .isFalse();
        }
        assertThat(WebGuard.fromLoopback(null)).isFalse();
    }

    @Test
    void theMachinesOwnHostNamesAndConfiguredOnesAreKnownOnAnyPort() {
        java.util.Set<String> configured = java.util.Set.of("dash.example.com", "[fd00::5]");
        for (String host : new String[] {
            "localhost",
            "localhost:8080",
            "LOCALHOST",
            "localhost.",
            "127.0.0.1",
            "127.0.0.1:8080",
            "127.255.0.9:1",
            "[::1]",
            "[::1]:8080",
            "[0:0:0:0:0:0:0:1]:80",
            "[::ffff:127.0.0.1]:80",
            "dash.example.com",
            "Dash.Example.com.:443",
            "[fd00::5]:8080"
        }) {
            assertThat(WebGuard.knownHost(host, configured)).as(host).isTrue();
        }
    }

    @Test
    void everyOtherHostNameIsUnknown() {
        java.util.Set<String> configured = java.util.Set.of("dash.example.com");
        for (String host : new String[] {
            "evil.test",
            "evil.test:8080",
            "localhost.evil.test",
            "127.0.0.1.evil.test",
            "127.0.0.1.nip.io:8080",
            "10.0.0.7",
            "0.0.0.0:8080",
            "[::]",
            "[::1",
            "[::1]x",
            "[fe80::1%25eth0]",
            "2130706433",
            "0x7f.0.0.1",
            "127.1",
            "example.com",
            "dash.example.com.evil.test",
            "",
            " ",
            null
        }) {
            assertThat(WebGuard.knownHost(host, configured))
                    .as(String.valueOf(host))
                    .isFalse();
        }
    }

    @Test
    void aChangeFromAnotherSitesPageIsRefused() {
        assertThat(WebGuard.sameOrigin("cross-site", "https://evil.example", "localhost:8080", null))
                .isFalse();
        assertThat(WebGuard.sameOrigin("same-site", "http://localhost:9000", "localhost:8080", null))
                .isFalse();
        assertThat(WebGuard.sameOrigin(null, "http://evil.example", "localhost:8080", null))
                .isFalse();
        assertThat(WebGuard.sameOrigin(null, "null", "localhost:8080", null)).isFalse();
    }

    @Test
    void theDashboardsOwnPagesAndClientsWithoutABrowserMayChangeThings() {
        assertThat(WebGuard.sameOrigin("same-origin", "http://localhost:8080", "localhost:8080", null))
                .isTrue();
        assertThat(WebGuard.sameOrigin("same-origin", "null", "localhost:8080", null))
                .as("a form of the page itself under Referrer-Policy no-referrer")
                .isTrue();
        assertThat(WebGuard.sameOrigin(null, "https://mqtt-dynamo.example", "10.0.0.7:8080", "mqtt-dynamo.example"))
                .isTrue();
        assertThat(WebGuard.sameOrigin(null, null, "localhost:8080", null))
                .as("curl")
                .isTrue();
        assertThat(WebGuard.sameOrigin("none", null, "localhost:8080", null))
                .as("typed by the user")
                .isTrue();
    }
}
