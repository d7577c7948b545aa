package io.mqttdynamo.delivery;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.mqttdynamo.support.EmqxApiProfile;
import io.mqttdynamo.support.FakeEmqxApi;
import io.mqttdynamo.support.MosquittoProfile;
import io.mqttdynamo.support.PrometheusText;
import io.mqttdynamo.support.Readiness;
import io.mqttdynamo.support.TestMqttClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * on_subscribe_lookup through EMQX 4's REST API ({@code subscribe_batch}, AppID and secret): EMQX 4 has no
 * subscription events, so the rows are in mqtt_sub from before; a connected event through a real Mosquitto.
 */
@QuarkusTest
@TestProfile(EmqxApiProfile.Emqx4.class)
class SubscriptionRestoreEmqx4Test {

    private static final Duration TIMEOUT = Duration.ofSeconds(20);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static FakeEmqxApi emqx;

    @Inject
    DynamoDbAsyncClient dynamo;

    TestMqttClient broker;
    String run;

    @BeforeAll
    static void startApi() throws IOException {
        emqx = new FakeEmqxApi(EmqxApiProfile.apiPort(), EmqxApiProfile.KEY, EmqxApiProfile.SECRET);
    }

    @AfterAll
    static void stopApi() {
        emqx.close();
    }

    @BeforeEach
    void setUp() {
        Readiness.await();
        run = UUID.randomUUID().toString().substring(0, 8);
        broker = TestMqttClient.connect("emqx4-events-" + run, MosquittoProfile.PORT);
    }

    @AfterEach
    void tearDown() {
        broker.close();
    }

    private void storedSubscription(String clientId, String filter, int qos) throws Exception {
        dynamo.putItem(b -> b.tableName("mqtt_sub").item(Map.of("clientid", AttributeValue.fromS(clientId),
                "topic", AttributeValue.fromS(filter), "qos", AttributeValue.fromN(Integer.toString(qos)))))
                .get(10, TimeUnit.SECONDS);
    }

    private void connected(String clientId) {
        broker.publish(EmqxApiProfile.prefix() + "/sys/brokers/emqx@127.0.0.1/clients/" + clientId + "/connected",
                "{\"clientid\":\"" + clientId + "\",\"username\":\"u\",\"connected_at\":"
                        + System.currentTimeMillis() / 1000 + ",\"proto_ver\":4,\"clean_start\":false}", 1, false);
    }

    private static double restores(String result) {
        return PrometheusText.value(given().get("/q/metrics").asString(),
                "mqtt_dynamo_subscription_restores_total{result=\"" + result + "\"}");
    }

    @Test
    void subscriptionsAreRestoredThroughSubscribeBatch() throws Exception {
        String clientId = "v4-" + run;
        storedSubscription(clientId, "a/" + run + "/#", 1);
        storedSubscription(clientId, "b/" + run, 0);
        emqx.connect(clientId);
        double before = restores("restored");
        connected(clientId);
        await().atMost(TIMEOUT).until(() -> restores("restored") >= before + 1);
        List<FakeEmqxApi.Request> requests = emqx.requestsFor(clientId);
        assertThat(requests).hasSize(1);
        assertThat(requests.get(0).rawPath()).isEqualTo("/api/v4/mqtt/subscribe_batch");
        assertThat(requests.get(0).authorization())
                .isEqualTo(FakeEmqxApi.basic(EmqxApiProfile.KEY, EmqxApiProfile.SECRET));
        assertThat(requests.get(0).body()).containsExactlyInAnyOrder(
                JSON.readTree("{\"topic\":\"a/" + run + "/#\",\"qos\":1,\"clientid\":\"" + clientId + "\"}"),
                JSON.readTree("{\"topic\":\"b/" + run + "\",\"qos\":0,\"clientid\":\"" + clientId + "\"}"));
    }

    @Test
    void anUnknownClientIsCountedAsGone() throws Exception {
        String clientId = "v4-gone-" + run;
        storedSubscription(clientId, "a/" + run, 1);
        double before = restores("client_gone");
        connected(clientId);
        await().atMost(TIMEOUT).until(() -> restores("client_gone") >= before + 1);
        assertThat(emqx.requestsFor(clientId)).hasSize(1);
    }
}
