package io.mqttdynamo.delivery;

import static io.restassured.RestAssured.given;

import java.io.IOException;
import java.time.Duration;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.mqttdynamo.support.EmqxApiProfile;
import io.mqttdynamo.support.FakeEmqxApi;
import io.mqttdynamo.support.MosquittoProfile;
import io.mqttdynamo.support.PrometheusText;
import io.mqttdynamo.support.ServiceTest;
import io.mqttdynamo.support.TestMqttClient;

/**
 * What the subscription-restore tests against a local server answering as EMQX's REST API share: that
 * server, a client publishing EMQX's client events through the machine's Mosquitto, and the restore counts.
 */
abstract class EmqxApiRestoreTest extends ServiceTest {

    static final Duration TIMEOUT = Duration.ofSeconds(20);
    static final ObjectMapper JSON = new ObjectMapper();
    static FakeEmqxApi emqx;

    TestMqttClient broker;

    @BeforeAll
    static void startApi() throws IOException {
        emqx = new FakeEmqxApi(EmqxApiProfile.apiPort(), EmqxApiProfile.KEY, EmqxApiProfile.SECRET);
    }

    @AfterAll
    static void stopApi() {
        emqx.close();
    }

    @BeforeEach
    void connectAsEmqx() {
        broker = TestMqttClient.connect("emqx-events-" + run, MosquittoProfile.PORT);
    }

    @AfterEach
    void disconnectEmqx() {
        broker.close();
    }

    /** EMQX's {@code $SYS} client event {@code kind} of {@code clientId}. */
    void event(String clientId, String kind, String json) {
        broker.publish(
                EmqxApiProfile.prefix() + "/sys/brokers/emqx@127.0.0.1/clients/" + clientId + "/" + kind,
                json,
                1,
                false);
    }

    /** A client event of EMQX 5's rule engine, as a rule's republish action sends it (QoS 1). */
    void ruleEvent(String json) {
        broker.publish(EmqxApiProfile.prefix() + "/sys/rule", json, 1, false);
    }

    static double restores(String result) {
        return PrometheusText.value(
                given().get("/q/metrics").asString(),
                "mqtt_dynamo_subscription_restores_total{result=\"" + result + "\"}");
    }
}
