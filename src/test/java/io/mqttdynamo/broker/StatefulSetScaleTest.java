package io.mqttdynamo.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpServer;

import io.mqttdynamo.broker.StatefulSetScale.Decision;

/**
 * The scale-down check against an HTTP server on loopback that answers as the Kubernetes API does for
 * {@code GET /apis/apps/v1/namespaces/<ns>/statefulsets/<name>}.
 */
class StatefulSetScaleTest {

    private HttpServer api;
    private volatile int status;
    private volatile String body;
    private final List<String> requests = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws IOException {
        api = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        api.createContext("/", exchange -> {
            requests.add(exchange.getRequestURI().getPath() + " "
                    + exchange.getRequestHeaders().getFirst("Authorization"));
            byte[] answer = body.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status, answer.length);
            exchange.getResponseBody().write(answer);
            exchange.close();
        });
        api.start();
    }

    @AfterEach
    void stop() {
        api.stop(0);
    }

    private StatefulSetScale.Verdict check(String pod, int status, String body) {
        this.status = status;
        this.body = body;
        return new StatefulSetScale(
                        URI.create("http://127.0.0.1:" + api.getAddress().getPort()),
                        HttpClient.newHttpClient(),
                        "sa-token",
                        "iot",
                        pod)
                .check();
    }

    @Test
    void aPodPastTheReplicaCountLeavesForGood() {
        assertThat(check("mqtt-dynamo-1", 200, "{\"spec\": {\"replicas\": 1}}").decision())
                .isEqualTo(Decision.LEAVING);
        assertThat(check("mqtt-dynamo-2", 200, "{\"spec\": {\"replicas\": 0}}").decision())
                .isEqualTo(Decision.LEAVING);
        assertThat(requests).contains("/apis/apps/v1/namespaces/iot/statefulsets/mqtt-dynamo Bearer sa-token");
    }

    @Test
    void aPodWithinTheReplicaCountComesBack() {
        assertThat(check("mqtt-dynamo-1", 200, "{\"spec\": {\"replicas\": 2}}").decision())
                .isEqualTo(Decision.STAYING);
        assertThat(check("mqtt-dynamo-0", 200, "{\"spec\": {}}").decision())
                .as("replicas defaults to 1")
                .isEqualTo(Decision.STAYING);
        assertThat(check("my-ingest-set-10", 200, "{\"spec\": {\"replicas\": 11}}")
                        .decision())
                .isEqualTo(Decision.STAYING);
        assertThat(requests.get(requests.size() - 1))
                .startsWith("/apis/apps/v1/namespaces/iot/statefulsets/my-ingest-set ");
    }

    @Test
    void aDeletedStatefulSetMeansLeaving() {
        assertThat(check("mqtt-dynamo-0", 404, "{\"kind\": \"Status\", \"code\": 404}")
                        .decision())
                .isEqualTo(Decision.LEAVING);
    }

    @Test
    void whenItCannotTellItSaysSo() {
        StatefulSetScale.Verdict forbidden = check("mqtt-dynamo-0", 403, "{\"code\": 403}");
        assertThat(forbidden.decision()).isEqualTo(Decision.UNKNOWN);
        assertThat(forbidden.reason()).contains("403").contains("role.yaml");
        assertThat(check("mqtt-dynamo-0", 200, "not json").decision()).isEqualTo(Decision.UNKNOWN);
        assertThat(check("mqtt-dynamo-0", 200, "{\"spec\": {\"replicas\": \"two\"}}")
                        .decision())
                .isEqualTo(Decision.UNKNOWN);
        assertThat(check("mqtt-dynamo-7d9f8c-x2x4z", 200, "{}").decision())
                .as("a Deployment's pod name")
                .isEqualTo(Decision.UNKNOWN);
        api.stop(0);
        assertThat(check("mqtt-dynamo-0", 200, "{}").decision()).as("API down").isEqualTo(Decision.UNKNOWN);
    }
}
