package io.mqttdynamo.web;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.mqttdynamo.support.EmbeddedBrokerProfile;
import io.mqttdynamo.support.Readiness;
import io.mqttdynamo.support.TestMqttClient;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;

/**
 * The dashboard's pages and the JSON API over HTTP, fed by real MQTT traffic: content, escaping of
 * attacker-controlled text, errors, pagination and the live stream.
 */
@QuarkusTest
@TestProfile(EmbeddedBrokerProfile.class)
class DashboardApiTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(20);
    private static final int PORT = EmbeddedBrokerProfile.brokerPort();

    @TestHTTPResource("/")
    URL root;

    String run;

    @BeforeEach
    void setUp() {
        Readiness.await();
        run = UUID.randomUUID().toString().substring(0, 8);
    }

    @Test
    void pagesEscapeWhatCameFromMqtt() {
        String clientId = "evil\"<b>" + run;
        String topic = "xss/" + run;
        try (TestMqttClient client = TestMqttClient.connect(clientId, PORT)) {
            client.publish(topic, "<script>alert('x')</script>", 1, true);
            await().atMost(TIMEOUT).until(() -> given().queryParam("topic", topic).get("/api/retained").statusCode() == 200);
            await().atMost(TIMEOUT).until(() -> given().queryParam("online", true).get("/api/clients").asString()
                    .contains(run));

            String page = given().get("/").then().statusCode(200).extract().asString();
            assertThat(page).contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;")
                    .doesNotContain("<script>alert")
                    .contains("evil&quot;&lt;b&gt;" + run)
                    .doesNotContain("evil\"<b>")
                    // in attributes the id is percent-encoded, so it cannot end the attribute
                    .contains("href=\"/clients/evil%22%3Cb%3E" + run + "\"");

            String detail = given().get("/retained/message?topic=" + topic).then().statusCode(200).extract().asString();
            assertThat(detail).contains("&lt;script&gt;").doesNotContain("<script>alert");

            String clientPage = given().urlEncodingEnabled(true).get("/clients/{id}", clientId)
                    .then().statusCode(200).extract().asString();
            assertThat(clientPage).contains("evil&quot;&lt;b&gt;" + run).contains("online");
        }
    }

    @Test
    void theApiShowsClientsSubscriptionsRetainedAndMessages() {
        String clientId = "api-" + run;
        String topic = "api/" + run + "/state";
        try (TestMqttClient client = TestMqttClient.connect(clientId, PORT)) {
            client.subscribe("api/" + run + "/#", 1);
            client.publish(topic, "on", 1, true);
            await().atMost(TIMEOUT).until(() -> given().get("/api/clients/" + clientId).statusCode() == 200
                    && given().get("/api/clients/" + clientId).asString().contains("api/" + run + "/#"));
            given().get("/api/clients/" + clientId).then()
                    .body("client.clientId", equalTo(clientId))
                    .body("client.online", equalTo(true))
                    .body("subscriptions[0].topic", equalTo("api/" + run + "/#"))
                    .body("subscriptions[0].qos", equalTo(1));
            await().atMost(TIMEOUT).until(() -> given().queryParam("filter", "api/+/state").get("/api/retained")
                    .asString().contains(topic));
            given().queryParam("topic", topic).get("/api/retained").then().statusCode(200)
                    .body("payload", equalTo("on")).body("sender", equalTo(clientId)).body("retain", equalTo(true));
            given().queryParam("q", "api/" + run + "/#").get("/api/subscriptions").then().statusCode(200)
                    .body("items.clientId", org.hamcrest.Matchers.hasItem(clientId));
            given().queryParam("topic", topic).get("/api/messages").then().statusCode(200)
                    .body("topic", equalTo(topic))
                    .body("recent[0].payload", equalTo("on"));
            given().get("/api/stats").then().statusCode(200).body("brokerUp", equalTo(true))
                    .body("dynamoUp", equalTo(true));
        }
    }

    @Test
    void errorsAreJsonWithTheRightStatus() {
        given().get("/api/clients/no-such-client-" + run).then().statusCode(404)
                .body("error", containsString("no client"));
        given().queryParam("filter", "a/#/b").get("/api/retained").then().statusCode(400)
                .body("error", containsString("'#' must be a whole level"));
        given().queryParam("cursor", "not-a-cursor!").get("/api/clients").then().statusCode(400)
                .body("error", containsString("invalid cursor"));
        given().queryParam("limit", 0).get("/api/clients").then().statusCode(400)
                .body("error", containsString("limit"));
        given().get("/api/messages").then().statusCode(400).body("error", containsString("topic"));
        given().get("/clients/no-such-client-" + run).then().statusCode(404)
                .body(containsString("no client"));
        given().queryParam("filter", "a/#/b").get("/retained").then().statusCode(400);
    }

    @Test
    void theApiIsDescribedInOpenApi() {
        given().get("/q/openapi?format=json").then().statusCode(200)
                .body(containsString("/api/clients")).body(containsString("/api/retained"))
                .body(containsString("/api/messages"));
    }

    @Test
    void listingsPageWithACursorUntilTheEnd() {
        String prefix = "page/" + run + "/";
        try (TestMqttClient client = TestMqttClient.connect("pager-" + run, PORT)) {
            for (int i = 0; i < 5; i++) {
                client.publish(prefix + i, "value " + i, 1, true);
            }
        }
        await().atMost(TIMEOUT).until(() -> given().queryParam("filter", prefix + "#").queryParam("limit", 200)
                .get("/api/retained").jsonPath().getList("items").size() == 5);
        Set<String> seen = new HashSet<>();
        List<Integer> sizes = new ArrayList<>();
        String cursor = null;
        do {
            var request = given().queryParam("filter", prefix + "#").queryParam("limit", 2);
            if (cursor != null) {
                request = request.queryParam("cursor", cursor);
            }
            JsonPath page = request.get("/api/retained").then().statusCode(200).extract().jsonPath();
            List<String> topics = page.getList("items.topic");
            sizes.add(topics.size());
            seen.addAll(topics);
            cursor = page.getString("next");
        } while (cursor != null && sizes.size() < 100);
        assertThat(seen).hasSize(5).allMatch(t -> t.startsWith(prefix));
        assertThat(sizes).allMatch(n -> n <= 2);
    }

    @Test
    void theLiveStreamSaysWhatChanged() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<java.io.InputStream> response = http.send(HttpRequest.newBuilder(URI.create(root + "api/live"))
                .header("Accept", "text/event-stream").build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(response.headers().firstValue("content-type")).hasValueSatisfying(
                type -> assertThat(type).startsWith("text/event-stream"));
        try (BufferedReader events = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
                TestMqttClient client = TestMqttClient.connect("live-" + run, PORT)) {
            client.publish("live/" + run, "retained for the stream", 1, true);
            boolean sawRetained = false;
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (!sawRetained && System.nanoTime() < deadline) {
                String line = events.readLine();
                if (line != null && line.startsWith("data:")) {
                    JsonPath update = JsonPath.from(line.substring(5));
                    assertThat(update.getList("changes")).isNotNull();
                    sawRetained = update.getList("changes").contains("RETAINED");
                }
            }
            assertThat(sawRetained).as("a RETAINED change on the stream").isTrue();
        }
    }
}
