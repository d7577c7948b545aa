package io.mqttdynamo.ingest;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.mqttdynamo.store.Indexes;
import io.mqttdynamo.support.AwsIotMosquittoProfile;
import io.mqttdynamo.support.MosquittoProfile;
import io.mqttdynamo.support.PrometheusText;
import io.mqttdynamo.support.ServiceTest;
import io.mqttdynamo.support.TestMqttClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * AWS IoT Core's lifecycle events end to end: published on their {@code $aws/events/...} topics to a real
 * Mosquitto, decoded by the service's aws-iot dialect, stored in mqtt_client and mqtt_sub; duplicates and
 * events out of order do not move a client's state backwards.
 */
@QuarkusTest
@TestProfile(AwsIotMosquittoProfile.class)
class AwsIotEventsTest extends ServiceTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(20);
    private static final long T = 1_700_000_000_000L;

    TestMqttClient aws;

    @BeforeEach
    void connectAsAws() {
        aws = TestMqttClient.connect("aws-events-" + run, MosquittoProfile.PORT);
    }

    @AfterEach
    void tearDown() {
        aws.close();
    }

    private void presence(String kind, String clientId, long timestamp, long version) {
        String reason = kind.equals("disconnected")
                ? ",\"clientInitiatedDisconnect\":true,\"disconnectReason\":\"CLIENT_INITIATED_DISCONNECT\""
                : "";
        aws.publish(
                "$aws/events/presence/" + kind + "/" + clientId,
                "{\"clientId\":\"" + clientId
                        + "\",\"timestamp\":" + timestamp + ",\"eventType\":\"" + kind + "\",\"sessionIdentifier\":\"s-"
                        + run
                        + "\",\"principalIdentifier\":\"p\",\"versionNumber\":" + version + reason + "}",
                1,
                false);
    }

    private Map<String, AttributeValue> clientRow(String clientId) {
        return tables.item("mqtt_client", "clientid", clientId).orElse(null);
    }

    private double staleUpdates() {
        return PrometheusText.value(given().get("/q/metrics").asString(), "mqtt_dynamo_stale_updates_total");
    }

    @Test
    void presenceEventsKeepTheClientRowWithTheConfiguredNode() {
        String clientId = "thing-" + run;
        presence("connected", clientId, T, 3);
        Map<String, AttributeValue> online = await().atMost(TIMEOUT).until(() -> clientRow(clientId), r -> r != null);
        assertThat(online)
                .containsOnlyKeys(
                        "clientid",
                        "node",
                        "connect_state",
                        "online_at",
                        "offline_at",
                        "version_number",
                        "online_shard",
                        "client_shard",
                        "write_token",
                        "previous_client_shard",
                        "previous_connect_state");
        assertThat(online)
                .contains(
                        Map.entry("clientid", AttributeValue.fromS(clientId)),
                        Map.entry("node", AttributeValue.fromS(AwsIotMosquittoProfile.NODE)),
                        Map.entry("connect_state", AttributeValue.fromN("1")),
                        Map.entry("online_at", AttributeValue.fromN(Long.toString(T))),
                        Map.entry("offline_at", AttributeValue.fromN("0")),
                        Map.entry("version_number", AttributeValue.fromN("3")),
                        // the indexes of online clients and of client ids
                        Map.entry("online_shard", AttributeValue.fromS(Indexes.shardOf(clientId))),
                        Map.entry("client_shard", AttributeValue.fromS(Indexes.shardOf(clientId))));

        presence("disconnected", clientId, T + 60_000, 3);
        Map<String, AttributeValue> offline = await().atMost(TIMEOUT)
                .until(
                        () -> clientRow(clientId),
                        r -> r.get("connect_state").n().equals("0"));
        assertThat(offline.get("offline_at").n()).isEqualTo(Long.toString(T + 60_000));
        assertThat(offline.get("online_at").n()).isEqualTo(Long.toString(T));
        assertThat(offline).doesNotContainKey("online_shard");
    }

    @Test
    void duplicatesAndLateEventsOfEarlierConnectionsAreStaleAndANewerConnectionWinsDespiteItsClock() {
        String clientId = "skewed-" + run;
        presence("connected", clientId, T, 5);
        presence("disconnected", clientId, T + 60_000, 5);
        await().atMost(TIMEOUT)
                .until(
                        () -> clientRow(clientId),
                        r -> r != null && r.get("connect_state").n().equals("0"));
        double staleBefore = staleUpdates();

        presence("connected", clientId, T, 5); // AWS delivered it again
        presence("disconnected", clientId, T + 60_000, 5); // and this one too
        presence("connected", clientId, T + 90_000, 4); // an earlier connection's event, late, with a later clock
        await().atMost(TIMEOUT).until(() -> staleUpdates() >= staleBefore + 3);
        Map<String, AttributeValue> row = clientRow(clientId);
        assertThat(row.get("connect_state").n()).isEqualTo("0");
        assertThat(row.get("offline_at").n()).isEqualTo(Long.toString(T + 60_000));
        assertThat(row.get("version_number").n()).isEqualTo("5");

        // The next connection: its number wins although its timestamp (accurate to +/- 2 minutes) is earlier.
        presence("connected", clientId, T + 30_000, 6);
        Map<String, AttributeValue> online = await().atMost(TIMEOUT)
                .until(
                        () -> clientRow(clientId),
                        r -> r.get("connect_state").n().equals("1"));
        assertThat(online.get("online_at").n()).isEqualTo(Long.toString(T + 30_000));
        assertThat(online.get("version_number").n()).isEqualTo("6");
    }

    /** AWS IoT starts a client's numbers at 0 again after about an hour away (or when its session expired). */
    @Test
    void aConnectionWhoseNumberWasResetAfterAnHourAwayBringsTheClientOnline() {
        String clientId = "returning-" + run;
        presence("connected", clientId, T, 7);
        presence("disconnected", clientId, T + 60_000, 7);
        await().atMost(TIMEOUT)
                .until(
                        () -> clientRow(clientId),
                        r -> r != null && r.get("connect_state").n().equals("0"));

        presence("connected", clientId, T + 2 * 3_600_000, 0);
        Map<String, AttributeValue> online = await().atMost(TIMEOUT)
                .until(
                        () -> clientRow(clientId),
                        r -> r.get("connect_state").n().equals("1"));
        assertThat(online.get("version_number").n()).isEqualTo("0");
        assertThat(online.get("online_at").n()).isEqualTo(Long.toString(T + 2 * 3_600_000));

        // The old connection's disconnect, delivered late again, does not take the new connection offline.
        double staleBefore = staleUpdates();
        presence("disconnected", clientId, T + 60_000, 7);
        await().atMost(TIMEOUT).until(() -> staleUpdates() >= staleBefore + 1);
        assertThat(clientRow(clientId).get("connect_state").n()).isEqualTo("1");
    }

    @Test
    void aDisconnectThatOvertakesItsConnectStands() {
        String clientId = "overtaken-" + run;
        presence("disconnected", clientId, T + 1_000, 8);
        await().atMost(TIMEOUT).until(() -> clientRow(clientId), r -> r != null);
        double staleBefore = staleUpdates();
        presence("connected", clientId, T, 8);
        await().atMost(TIMEOUT).until(() -> staleUpdates() >= staleBefore + 1);
        assertThat(clientRow(clientId).get("connect_state").n()).isEqualTo("0");
    }

    @Test
    void subscriptionEventsInsertAndDeleteRowsOfEveryTopic() {
        String clientId = "subscriber-" + run;
        aws.publish(
                "$aws/events/subscriptions/subscribed/" + clientId,
                "{\"clientId\":\"" + clientId
                        + "\",\"timestamp\":" + T + ",\"eventType\":\"subscribed\",\"sessionIdentifier\":\"s\","
                        + "\"principalIdentifier\":\"p\",\"topics\":[\"devices/" + run + "/+\",\"alerts/" + run
                        + "\"]}",
                1,
                false);
        Map<String, AttributeValue> row = await().atMost(TIMEOUT)
                .until(
                        () -> tables.item("mqtt_sub", "clientid", clientId, "topic", "devices/" + run + "/+")
                                .orElse(null),
                        r -> r != null);
        assertThat(row)
                .containsOnly(
                        Map.entry("clientid", AttributeValue.fromS(clientId)),
                        Map.entry("topic", AttributeValue.fromS("devices/" + run + "/+")),
                        Map.entry("qos", AttributeValue.fromN("0")));
        await().atMost(TIMEOUT)
                .until(() -> tables.item("mqtt_sub", "clientid", clientId, "topic", "alerts/" + run)
                        .isPresent());

        aws.publish(
                "$aws/events/subscriptions/unsubscribed/" + clientId,
                "{\"clientId\":\"" + clientId
                        + "\",\"timestamp\":" + (T + 1) + ",\"eventType\":\"unsubscribed\",\"topics\":[\"alerts/" + run
                        + "\"]}",
                1,
                false);
        await().atMost(TIMEOUT)
                .until(() -> tables.item("mqtt_sub", "clientid", clientId, "topic", "alerts/" + run)
                        .isEmpty());
        assertThat(tables.item("mqtt_sub", "clientid", clientId, "topic", "devices/" + run + "/+"))
                .isPresent();
    }

    @Test
    void badEventsAreCountedAndSkipped() {
        String clientId = "after-bad-" + run;
        aws.publish("$aws/events/presence/connected/bad-" + run, "{not json", 1, false);
        aws.publish("$aws/events/subscriptions/subscribed/bad-" + run, "{\"clientId\":\"x\"}", 1, false);
        presence("connected", clientId, T, 1);
        await().atMost(TIMEOUT).until(() -> clientRow(clientId), r -> r != null);
        String metrics = given().get("/q/metrics").asString();
        assertThat(PrometheusText.value(
                        metrics,
                        "mqtt_dynamo_events_rejected_total{channel=\"client-events\",reason=\"invalid_json\"}"))
                .isGreaterThanOrEqualTo(1);
        assertThat(PrometheusText.value(
                        metrics,
                        "mqtt_dynamo_events_rejected_total{channel=\"client-events\",reason=\"missing_field\"}"))
                .isGreaterThanOrEqualTo(1);
    }
}
