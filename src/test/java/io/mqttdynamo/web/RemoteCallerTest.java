package io.mqttdynamo.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URL;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.support.EmbeddedVariantProfile;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * Without a dashboard password, a caller that is not on the loopback interface gets 403 and what to do,
 * while probes and metrics answer it; a loopback caller naming a host that is not the machine's own nor a
 * configured one (a page that rebound its name to 127.0.0.1) gets 421 and what to configure. The HTTP server here reads the PROXY protocol header, which names
 * the caller's address: so the test talks to it over loopback sockets only and still arrives as a remote
 * peer (203.0.113.7), through the same connection address the service sees from a real network peer.
 */
@QuarkusTest
@TestProfile(EmbeddedVariantProfile.class)
class RemoteCallerTest {

    @TestHTTPResource("/")
    URL root;

    @Test
    void aRemoteCallerIsToldToSetAPassword() throws IOException {
        String api = get("203.0.113.7", "/api/stats");
        assertThat(statusLine(api)).contains(" 403 ");
        assertThat(api)
                .containsIgnoringCase("content-type: application/json")
                .contains("\"status\":403")
                .contains("MQTT_DYNAMO_DASHBOARD_AUTH_PASSWORD")
                .doesNotContain("messagesPerSecond");
        String page = get("203.0.113.7", "/");
        assertThat(statusLine(page)).contains(" 403 ");
        assertThat(page)
                .contains("text/html")
                .contains("<h1>Local access only</h1>")
                .contains("mqtt-dynamo.dashboard.auth.enabled=true")
                .containsIgnoringCase("content-security-policy: " + WebGuard.CONTENT_SECURITY_POLICY);
        assertThat(statusLine(get("203.0.113.7", "/api/live"))).contains(" 403 ");
        assertThat(statusLine(get("2001:db8::7", "/clients"))).contains(" 403 ");
    }

    @Test
    void probesAndMetricsAnswerARemoteCaller() throws IOException {
        assertThat(statusLine(get("203.0.113.7", "/q/health/live"))).contains(" 200 ");
        assertThat(get("203.0.113.7", "/q/metrics")).contains("mqtt_dynamo_pending_writes");
    }

    @Test
    void aLocalCallerIsAnswered() throws IOException {
        String api = get("127.0.0.1", "/api/stats");
        assertThat(statusLine(api)).contains(" 200 ");
        assertThat(api).contains("messagesPerSecond");
        assertThat(statusLine(get("::1", "/"))).contains(" 200 ");
    }

    @Test
    void aLoopbackCallerNamingAnUnknownHostIsRefused() throws IOException {
        String api = request("127.0.0.1", "GET", "/api/clients", "evil.test:8080");
        assertThat(statusLine(api)).contains(" 421 ");
        assertThat(api)
                .containsIgnoringCase("content-type: application/json")
                .contains("\"status\":421")
                .contains("mqtt-dynamo.dashboard.allowed-hosts")
                .contains("MQTT_DYNAMO_DASHBOARD_ALLOWED_HOSTS")
                .doesNotContain("\"items\"");
        // A rebinding page's POST carries its own origin, so the cross-site rule lets it by; the Host does not.
        assertThat(statusLine(request("127.0.0.1", "POST", "/api/retained/restore", "evil.test:8080")))
                .contains(" 421 ");
        String page = request("::1", "GET", "/", "evil.test");
        assertThat(statusLine(page)).contains(" 421 ");
        assertThat(page).contains("text/html").contains("mqtt-dynamo.dashboard.allowed-hosts");
        assertThat(statusLine(request("127.0.0.1", "GET", "/api/stats", "localhost.evil.test")))
                .contains(" 421 ");
        assertThat(statusLine(request("127.0.0.1", "GET", "/api/stats", "127.0.0.1.evil.test:80")))
                .contains(" 421 ");
        assertThat(statusLine(request("127.0.0.1", "GET", "/q/health/live", "evil.test")))
                .contains(" 200 ");
    }

    @Test
    void theMachinesOwnNamesAndTheConfiguredOnesAreAnsweredOnAnyPort() throws IOException {
        for (String host : new String[] {
            "localhost",
            "localhost:8080",
            "LocalHost.:1",
            "127.0.0.1",
            "127.0.0.1:9",
            "127.1.2.3:8080",
            "[::1]:8080",
            "[::1]",
            "mqtt-dynamo.example",
            "MQTT-Dynamo.Example:443"
        }) {
            assertThat(statusLine(request("127.0.0.1", "GET", "/api/stats", host)))
                    .as(host)
                    .contains(" 200 ");
        }
    }

    /** One GET on a new connection that says, in its PROXY header, it comes from {@code peer}. */
    private String get(String peer, String path) throws IOException {
        return request(peer, "GET", path, "mqtt-dynamo.example");
    }

    /** One request on a new connection that says, in its PROXY header, it comes from {@code peer}. */
    private String request(String peer, String method, String path, String host) throws IOException {
        boolean v6 = peer.contains(":");
        String proxy = v6
                ? "PROXY TCP6 " + peer + " ::1 40000 " + root.getPort()
                : "PROXY TCP4 " + peer + " 127.0.0.1 40000 " + root.getPort();
        try (Socket socket = new Socket("127.0.0.1", root.getPort())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write((proxy + "\r\n" + method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\nAccept: */*\r\n"
                            + "Origin: http://" + host + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static String statusLine(String response) {
        return response.lines().findFirst().orElse("") + " ";
    }
}
