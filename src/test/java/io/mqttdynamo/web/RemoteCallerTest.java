package io.mqttdynamo.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.support.EmbeddedBrokerProfile;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * Without a dashboard password, a caller that is not on the loopback interface gets 403 and what to do,
 * while probes and metrics answer it. The HTTP server here reads the PROXY protocol header, which names
 * the caller's address: so the test talks to it over loopback sockets only and still arrives as a remote
 * peer (203.0.113.7), through the same connection address the service sees from a real network peer.
 */
@QuarkusTest
@TestProfile(RemoteCallerTest.BehindProxyProtocol.class)
class RemoteCallerTest {

    public static class BehindProxyProtocol extends EmbeddedBrokerProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> config = new HashMap<>(super.getConfigOverrides());
            config.put("quarkus.http.proxy.use-proxy-protocol", "true");
            return config;
        }
    }

    @TestHTTPResource("/")
    URL root;

    @Test
    void aRemoteCallerIsToldToSetAPassword() throws IOException {
        String api = get("203.0.113.7", "/api/stats");
        assertThat(statusLine(api)).contains(" 403 ");
        assertThat(api).containsIgnoringCase("content-type: application/json")
                .contains("\"status\":403")
                .contains("MQTT_DYNAMO_DASHBOARD_AUTH_PASSWORD")
                .doesNotContain("messagesPerSecond");
        String page = get("203.0.113.7", "/");
        assertThat(statusLine(page)).contains(" 403 ");
        assertThat(page).contains("text/html").contains("<h1>Local access only</h1>")
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

    /** One GET on a new connection that says, in its PROXY header, it comes from {@code peer}. */
    private String get(String peer, String path) throws IOException {
        boolean v6 = peer.contains(":");
        String proxy = v6 ? "PROXY TCP6 " + peer + " ::1 40000 " + root.getPort()
                : "PROXY TCP4 " + peer + " 127.0.0.1 40000 " + root.getPort();
        try (Socket socket = new Socket("127.0.0.1", root.getPort())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write((proxy + "\r\nGET " + path + " HTTP/1.1\r\nHost: mqtt-dynamo.example\r\nAccept: */*\r\n"
                    + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static String statusLine(String response) {
        return response.lines().findFirst().orElse("") + " ";
    }
}
