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

import io.mqttdynamo.ingest.IngestChannels;
import io.mqttdynamo.support.EmbeddedBrokerProfile;
import io.mqttdynamo.support.PrometheusText;
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

    /** What DynamoDB reports a read cost is counted per table, for every read. */
    @Test
    void readUnitsAreCountedByTable() {
        String topic = "read-cost/" + run;
        try (TestMqttClient client = TestMqttClient.connect("read-cost-" + run, PORT)) {
            client.publish(topic, "what a read costs", 1, true);
        }
        await().atMost(TIMEOUT)
                .until(() -> given().queryParam("topic", topic)
                                .get("/api/retained/message")
                                .statusCode()
                        == 200);
        String metric = "mqtt_dynamo_consumed_read_units_total{table=\"mqtt_retain\"}";
        double before = PrometheusText.value(given().get("/q/metrics").asString(), metric);
        given().queryParam("topic", topic).get("/api/retained/message").then().statusCode(200);
        assertThat(PrometheusText.value(given().get("/q/metrics").asString(), metric))
                .isGreaterThan(before);
        // The home page's cost line shows the writes of the last minute per table.
        await().atMost(TIMEOUT)
                .until(
                        () -> given().get("/").asString(),
                        page -> page.contains("Write units, last minute") && page.contains("mqtt_retain "));
    }

    @Test
    void pagesEscapeWhatCameFromMqtt() {
        String clientId = "evil\"<b>" + run;
        String topic = "xss/" + run;
        try (TestMqttClient client = TestMqttClient.connect(clientId, PORT)) {
            client.publish(topic, "<script>alert('x')</script>", 1, true);
            await().atMost(TIMEOUT)
                    .until(() -> given().queryParam("topic", topic)
                                    .get("/api/retained/message")
                                    .statusCode()
                            == 200);
            await().atMost(TIMEOUT)
                    .until(() -> given().queryParam("online", true)
                            .get("/api/clients")
                            .asString()
                            .contains(run));

            String page = given().get("/").then().statusCode(200).extract().asString();
            assertThat(page)
                    .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;")
                    .doesNotContain("<script>alert")
                    .contains("evil&quot;&lt;b&gt;" + run)
                    .doesNotContain("evil\"<b>");
            // The home page lists only the first clients; the search finds this one.
            String clients = given().queryParam("q", clientId)
                    .get("/clients")
                    .then()
                    .statusCode(200)
                    .extract()
                    .asString();
            assertThat(clients)
                    .contains("evil&quot;&lt;b&gt;" + run)
                    .doesNotContain("evil\"<b>")
                    // in attributes the id is percent-encoded, so it cannot end the attribute
                    .contains("href=\"/clients/evil%22%3Cb%3E" + run + "\"");

            String detail = given().get("/retained/message?topic=" + topic)
                    .then()
                    .statusCode(200)
                    .extract()
                    .asString();
            assertThat(detail).contains("&lt;script&gt;").doesNotContain("<script>alert");

            String clientPage = given().urlEncodingEnabled(true)
                    .get("/clients/{id}", clientId)
                    .then()
                    .statusCode(200)
                    .extract()
                    .asString();
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
            await().atMost(TIMEOUT)
                    .until(() -> given().get("/api/clients/" + clientId).statusCode() == 200
                            && given().get("/api/clients/" + clientId)
                                    .asString()
                                    .contains("api/" + run + "/#"));
            given().get("/api/clients/" + clientId)
                    .then()
                    .body("client.clientId", equalTo(clientId))
                    .body("client.online", equalTo(true))
                    .body("subscriptions[0].topic", equalTo("api/" + run + "/#"))
                    .body("subscriptions[0].qos", equalTo(1));
            await().atMost(TIMEOUT)
                    .until(() -> given().queryParam("filter", "api/+/state")
                            .get("/api/retained")
                            .asString()
                            .contains(topic));
            given().queryParam("topic", topic)
                    .get("/api/retained/message")
                    .then()
                    .statusCode(200)
                    .body("payload", equalTo("on"))
                    .body("sender", equalTo(clientId))
                    .body("retain", equalTo(true));
            given().queryParam("q", "api/" + run + "/#")
                    .get("/api/subscriptions")
                    .then()
                    .statusCode(200)
                    .body("items.clientId", org.hamcrest.Matchers.hasItem(clientId));
            given().queryParam("topic", topic)
                    .get("/api/messages")
                    .then()
                    .statusCode(200)
                    .body("topic", equalTo(topic))
                    .body("recent[0].payload", equalTo("on"));
            given().get("/api/stats")
                    .then()
                    .statusCode(200)
                    .body("brokerUp", equalTo(true))
                    .body("dynamoUp", equalTo(true));
        }
    }

    @Test
    void theRetainedPagesButtonStartsARestoreWhoseCountsTheStatsAndTheProgressShow() {
        // A form on another site's page is refused; the dashboard's own starts the run and comes back.
        given().header("Origin", "https://elsewhere.example")
                .redirects()
                .follow(false)
                .post("/retained/restore")
                .then()
                .statusCode(403);
        given().header("Origin", "https://elsewhere.example")
                .post("/api/retained/restore")
                .then()
                .statusCode(403)
                .body("error", containsString("another site"));
        String self = root.getProtocol() + "://" + root.getHost() + ":" + root.getPort();
        given().header("Origin", self)
                .header("Sec-Fetch-Site", "same-origin")
                .redirects()
                .follow(false)
                .post("/retained/restore")
                .then()
                .statusCode(303)
                .header("Location", containsString("/retained"));
        JsonPath done = await().atMost(TIMEOUT)
                .until(
                        () -> given().get("/api/retained/restore")
                                .then()
                                .statusCode(200)
                                .extract()
                                .jsonPath(),
                        p -> !p.getBoolean("running"));
        assertThat(done.getString("phase")).isEqualTo("done");
        assertThat(given().get("/retained").then().statusCode(200).extract().asString())
                .contains("Restore retained messages")
                .contains("Last restore");

        JsonPath stats =
                given().get("/api/stats").then().statusCode(200).extract().jsonPath();
        assertThat(stats.getLong("delivery.retainedStored")).isGreaterThanOrEqualTo(done.getLong("stored"));
        assertThat(stats.getLong("delivery.retainedRepublished")).isGreaterThanOrEqualTo(done.getLong("republished"));
        assertThat(stats.getMap("delivery"))
                .containsKeys("subscriptionsRestored", "subscriptionRestoresFailed", "queuedMessagesRedelivered");
        assertThat(given().get("/").then().statusCode(200).extract().asString())
                .contains("clients re-subscribed from mqtt_sub")
                .contains("queued messages re-delivered")
                .contains("retained republished");
    }

    @Test
    void errorsAreJsonWithTheRightStatus() {
        given().get("/api/clients/no-such-client-" + run)
                .then()
                .statusCode(404)
                .body("error", containsString("no client"));
        given().queryParam("filter", "a/#/b")
                .get("/api/retained")
                .then()
                .statusCode(400)
                .body("error", containsString("'#' must be a whole level"));
        given().queryParam("cursor", "not-a-cursor!")
                .get("/api/clients")
                .then()
                .statusCode(400)
                .body("error", containsString("invalid cursor"));
        given().queryParam("limit", 0)
                .get("/api/clients")
                .then()
                .statusCode(400)
                .body("error", containsString("limit"));
        given().get("/api/messages").then().statusCode(400).body("error", containsString("topic"));
        given().get("/clients/no-such-client-" + run).then().statusCode(404).body(containsString("no client"));
        given().queryParam("filter", "a/#/b").get("/retained").then().statusCode(400);
    }

    @Test
    void theApiIsDescribedInOpenApi() {
        JsonPath openApi = given().get("/q/openapi?format=json")
                .then()
                .statusCode(200)
                .extract()
                .jsonPath();
        assertThat(openApi.getMap("paths"))
                .containsKeys("/api/clients", "/api/retained", "/api/retained/message", "/api/messages", "/api/stats");
        // one response shape per path: the listing is a page, the single message has its own path
        assertThat(openApi.getMap("paths.'/api/retained'.get.responses"))
                .containsKeys("200", "400")
                .doesNotContainKey("404");
        assertThat(openApi.getMap("paths.'/api/retained/message'.get.responses"))
                .containsKeys("200", "400", "404");
        assertThat(openApi.getList("paths.'/api/retained'.get.parameters.name", String.class))
                .contains("filter", "cursor", "limit");
    }

    @Test
    void listingsPageWithACursorUntilTheEnd() {
        String prefix = "page/" + run + "/";
        try (TestMqttClient client = TestMqttClient.connect("pager-" + run, PORT)) {
            for (int i = 0; i < 5; i++) {
                client.publish(prefix + i, "value " + i, 1, true);
            }
        }
        await().atMost(TIMEOUT)
                .until(() -> given().queryParam("filter", prefix + "#")
                                .queryParam("limit", 200)
                                .get("/api/retained")
                                .jsonPath()
                                .getList("items")
                                .size()
                        == 5);
        Set<String> seen = new HashSet<>();
        List<Integer> sizes = new ArrayList<>();
        String cursor = null;
        do {
            var request = given().queryParam("filter", prefix + "#").queryParam("limit", 2);
            if (cursor != null) {
                request = request.queryParam("cursor", cursor);
            }
            JsonPath page = request.get("/api/retained")
                    .then()
                    .statusCode(200)
                    .extract()
                    .jsonPath();
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
        HttpResponse<java.io.InputStream> response = http.send(
                HttpRequest.newBuilder(URI.create(root + "api/live"))
                        .header("Accept", "text/event-stream")
                        .build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(response.headers().firstValue("content-type"))
                .hasValueSatisfying(type -> assertThat(type).startsWith("text/event-stream"));
        try (BufferedReader events =
                        new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
                TestMqttClient client = TestMqttClient.connect("live-" + run, PORT)) {
            client.publish("live/" + run, "retained for the stream", 1, true);
            boolean sawRetained = false;
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (!sawRetained && System.nanoTime() < deadline) {
                String line = events.readLine();
                if (line != null && line.startsWith("data:")) {
                    JsonPath update = JsonPath.from(line.substring(5));
                    // a tick says no change (empty), else the kinds of data that changed
                    assertThat(update.getList("changes", String.class))
                            .as("changes of %s", line)
                            .allMatch(change -> Set.of("CLIENTS", "SUBSCRIPTIONS", "MESSAGES", "RETAINED", "ACKS")
                                    .contains(change));
                    sawRetained = update.getList("changes").contains("RETAINED");
                }
            }
            assertThat(sawRetained).as("a RETAINED change on the stream").isTrue();
        }
    }

    /** 2050 bytes of UTF-8 in 2045 UTF-16 units: over DynamoDB's partition key limit, under dynalite's count. */
    private static final String OVER_KEY_LIMIT = "a".repeat(2040) + "é".repeat(5);

    @Test
    void keysDynamoDbCannotHoldAreRefusedWith400() {
        for (String topic : List.of("t".repeat(3000), OVER_KEY_LIMIT)) {
            given().queryParam("topic", topic)
                    .get("/api/retained/message")
                    .then()
                    .statusCode(400)
                    .contentType("application/json")
                    .body("status", equalTo(400))
                    .body("error", containsString("'topic'"))
                    .body("error", containsString("2048"));
            given().queryParam("topic", topic)
                    .get("/api/messages")
                    .then()
                    .statusCode(400)
                    .contentType("application/json")
                    .body("error", containsString("'topic'"))
                    .body("error", containsString("2048"));
            given().queryParam("topic", topic)
                    .get("/topic")
                    .then()
                    .statusCode(400)
                    .contentType("text/html")
                    .body(containsString("2048"));
            given().queryParam("topic", topic)
                    .get("/retained/message")
                    .then()
                    .statusCode(400)
                    .contentType("text/html")
                    .body(containsString("2048"));
        }
        for (String clientId : List.of("c".repeat(2100), OVER_KEY_LIMIT)) {
            given().get("/api/clients/" + clientId)
                    .then()
                    .statusCode(400)
                    .contentType("application/json")
                    .body("error", containsString("'client id'"))
                    .body("error", containsString("2048"));
            given().get("/clients/" + clientId)
                    .then()
                    .statusCode(400)
                    .contentType("text/html")
                    .body(containsString("2048"));
        }
        given().get("/retained/message?topic=").then().statusCode(400).body(containsString("required"));
        given().get("/retained/message").then().statusCode(400).body(containsString("required"));
        given().get("/api/retained/message?topic=").then().statusCode(400).body("error", containsString("required"));
        given().get("/api/retained/message").then().statusCode(400).body("error", containsString("required"));
        // at the limit it is a key like any other, and there is no such client
        given().get("/api/clients/" + "c".repeat(2048))
                .then()
                .statusCode(404)
                .body("error", containsString("no client"));
        given().queryParam("topic", "t".repeat(2048))
                .get("/api/retained/message")
                .then()
                .statusCode(404);
    }

    @Test
    void limitsOutsideOneTo200Are400() {
        for (String limit : List.of("abc", "1e3", "2147483648", "0", "-1", "201", " 5", "5.0", "+5")) {
            for (String path : List.of("/api/clients", "/api/subscriptions", "/api/retained")) {
                given().queryParam("limit", limit)
                        .get(path)
                        .then()
                        .statusCode(400)
                        .contentType("application/json")
                        .body("status", equalTo(400))
                        .body("error", containsString("'limit'"))
                        .body("error", containsString("1 to 200"));
            }
        }
        given().queryParam("limit", 200).get("/api/clients").then().statusCode(200);
        given().queryParam("limit", 1)
                .get("/api/retained")
                .then()
                .statusCode(200)
                .body("items.size()", org.hamcrest.Matchers.lessThanOrEqualTo(1));
    }

    @Test
    void pagesCrossKeysWithControlCharactersAndSeparators() {
        List<String> topics = List.of(
                "ctl/" + run + "/a\u0002b",
                "ctl/" + run + "/a\u0001b",
                "ctl/" + run + "/a",
                "ctl/" + run + "/a\u0002",
                "ctl/" + run + "/\u0001\u0002x",
                "ctl/" + run + "/é€😀");
        List<String> filters = topics.stream().map(t -> t + "/+").toList();
        String clientId = "ctl\u0002" + run + "\u0001x";
        try (TestMqttClient client = TestMqttClient.connect(clientId, PORT)) {
            for (String topic : topics) {
                client.publish(topic, "v", 1, true);
            }
            for (String filter : filters) {
                client.subscribe(filter, 1);
            }
            await().atMost(TIMEOUT)
                    .until(() -> given().queryParam("filter", "ctl/" + run + "/#")
                                            .queryParam("limit", 200)
                                            .get("/api/retained")
                                            .jsonPath()
                                            .getList("items")
                                            .size()
                                    == topics.size()
                            && given().queryParam("q", clientId)
                                            .queryParam("limit", 200)
                                            .get("/api/subscriptions")
                                            .jsonPath()
                                            .getList("items")
                                            .size()
                                    == filters.size());
            for (int limit : new int[] {1, 2}) {
                assertThat(allPages("/api/retained", "filter", "ctl/" + run + "/#", limit, "items.topic"))
                        .containsExactlyInAnyOrderElementsOf(topics);
                assertThat(allPages("/api/subscriptions", "q", clientId, limit, "items.topic"))
                        .containsExactlyInAnyOrderElementsOf(filters);
            }
        }
    }

    /** Every item of a listing, page by page: {@code limit} at a time, following {@code next}. */
    private static List<String> allPages(String path, String param, String value, int limit, String field) {
        List<String> all = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            var request = given().queryParam(param, value).queryParam("limit", limit);
            if (cursor != null) {
                request = request.queryParam("cursor", cursor);
            }
            JsonPath page = request.get(path).then().statusCode(200).extract().jsonPath();
            List<String> items = page.getList(field);
            assertThat(items.size()).isLessThanOrEqualTo(limit);
            all.addAll(items);
            cursor = page.getString("next");
            pages++;
        } while (cursor != null && pages < 10_000);
        return all;
    }

    @Test
    void multiByteTextIsCutBetweenCharactersAndPreviewsAreNotTruncatedPayloads() {
        String topic = "euro/" + run;
        String euros = "€".repeat(400);
        int bytes = euros.getBytes(StandardCharsets.UTF_8).length;
        try (TestMqttClient client = TestMqttClient.connect("euro-" + run, PORT)) {
            client.publish(topic, euros, 1, true);
        }
        await().atMost(TIMEOUT).until(() -> {
            JsonPath m = given().queryParam("topic", topic).get("/api/messages").jsonPath();
            return m.getList("recent").size() == 1 && m.getList("pending").size() == 1;
        });
        JsonPath messages = given().queryParam("topic", topic)
                .get("/api/messages")
                .then()
                .statusCode(200)
                .extract()
                .jsonPath();
        // recent messages are previews: the start of the text, whole characters only, and stored whole
        String preview = messages.getString("recent[0].payload");
        assertThat(preview).isNotEmpty().matches("€+");
        assertThat(euros).startsWith(preview);
        assertThat(preview.getBytes(StandardCharsets.UTF_8).length).isLessThan(bytes);
        assertThat(messages.getString("recent[0].payloadBase64")).isNull();
        assertThat(messages.getInt("recent[0].payloadSize")).isEqualTo(bytes);
        assertThat(messages.getBoolean("recent[0].previewCut")).isTrue();
        assertThat(messages.getBoolean("recent[0].payloadTruncated")).isFalse();
        // listings carry the start of the stored item too; the item's own endpoint has it whole
        assertThat(messages.getString("pending[0].payload")).isEqualTo(preview);
        assertThat(messages.getBoolean("pending[0].previewCut")).isTrue();
        assertThat(messages.getBoolean("pending[0].payloadTruncated")).isFalse();
        given().get("/api/messages/" + messages.getString("pending[0].msgId"))
                .then()
                .statusCode(200)
                .body("payload", equalTo(euros))
                .body("payloadSize", equalTo(bytes))
                .body("previewCut", equalTo(false));
        given().queryParam("filter", topic)
                .get("/api/retained")
                .then()
                .statusCode(200)
                .body("items[0].payload", equalTo(preview))
                .body("items[0].previewCut", equalTo(true))
                .body("items[0].payloadSize", equalTo(bytes));
        given().queryParam("topic", topic)
                .get("/api/retained/message")
                .then()
                .statusCode(200)
                .body("payload", equalTo(euros))
                .body("payloadTruncated", equalTo(false))
                .body("previewCut", equalTo(false));
        assertThat(given().queryParam("topic", topic)
                        .get("/topic")
                        .then()
                        .statusCode(200)
                        .extract()
                        .asString())
                .contains("€€€€")
                .contains("(start shown)")
                .doesNotContain("0x e2")
                .doesNotContain("not stored");
    }

    @Test
    void statsAreDataThatThePageDraws() {
        try (TestMqttClient client = TestMqttClient.connect("stats-" + run, PORT)) {
            for (int i = 0; i < 20; i++) {
                client.publish("stats/" + run, "m" + i, 1, false);
            }
        }
        await().atMost(TIMEOUT)
                .until(() ->
                        given().get("/api/stats").jsonPath().getList("chart.messagesPerSecond", Float.class).stream()
                                .anyMatch(rate -> rate > 0));
        JsonPath stats =
                given().get("/api/stats").then().statusCode(200).extract().jsonPath();
        assertThat(stats.getMap("")).doesNotContainKeys("ratePoints", "latencyPoints", "dynamoDetail", "brokerDetail");
        assertThat(stats.getInt("chart.stepSeconds")).isEqualTo(1);
        assertThat(stats.getLong("chart.endMillis")).isGreaterThan(System.currentTimeMillis() - 60_000);
        List<Float> rates = stats.getList("chart.messagesPerSecond", Float.class);
        assertThat(rates).hasSize(Throughput.SECONDS).allMatch(rate -> rate >= 0);
        assertThat(stats.getList("chart.writeLatencyMillis")).hasSameSizeAs(rates);
        assertThat(stats.getBoolean("dynamoUp")).isTrue();
        assertThat(stats.getString("tablesProblem")).isNull();
        String page = given().get("/").then().statusCode(200).extract().asString();
        java.util.regex.Matcher rate = java.util.regex.Pattern.compile("<polyline class=\"rate\" points=\"([^\"]*)\"")
                .matcher(page);
        assertThat(rate.find()).as("the rate polyline on the page").isTrue();
        String[] points = rate.group(1).split(" ");
        assertThat(points).hasSize(Throughput.SECONDS).allMatch(p -> p.matches("[0-9.]+,[0-9.]+"));
        assertThat(page).contains("7 tables active (the EMQX backend's six and mqtt_dynamo_stats)");
    }

    @Test
    void aLostBrokerConnectionIsCountedAndShown() {
        long before = given().get("/api/stats").jsonPath().getLong("reconnects");
        // Another client taking over the acks channel's client id ends the service's connection.
        try (TestMqttClient intruder = TestMqttClient.connect("mqtt-dynamo-test-" + IngestChannels.ACKS, PORT)) {
            intruder.disconnect();
        }
        await().atMost(TIMEOUT).until(() -> given().get("/api/stats").jsonPath().getLong("reconnects") > before);
        await().atMost(TIMEOUT).until(() -> given().get("/api/stats").jsonPath().getBoolean("brokerUp"));
        long reconnects = given().get("/api/stats").jsonPath().getLong("reconnects");
        assertThat(given().get("/").then().statusCode(200).extract().asString())
                .containsPattern("<span class=\"value\" id=\"reconnects\">" + reconnects + "</span>");
    }
}
