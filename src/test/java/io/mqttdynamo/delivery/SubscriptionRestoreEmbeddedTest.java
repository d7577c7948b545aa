package io.mqttdynamo.delivery;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.support.EmbeddedBrokerProfile;
import io.mqttdynamo.support.EmbeddedBrokerTest;
import io.mqttdynamo.support.PrometheusText;
import io.mqttdynamo.support.TestMqttClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * on_subscribe_lookup on the embedded broker: a client that comes back with a new session (clean start)
 * is subscribed again to what mqtt_sub holds, and receives messages and retained messages on it.
 */
@QuarkusTest
@TestProfile(EmbeddedBrokerProfile.class)
class SubscriptionRestoreEmbeddedTest extends EmbeddedBrokerTest {

    private static double restores(String result) {
        return PrometheusText.value(
                given().get("/q/metrics").asString(),
                "mqtt_dynamo_subscription_restores_total{result=\"" + result + "\"}");
    }

    @Test
    void aClientWithANewSessionGetsItsStoredSubscriptionsBack() {
        String clientId = "restored_" + run;
        String filter = "restore/" + run + "/+";
        try (TestMqttClient first = TestMqttClient.connect(clientId, PORT)) {
            first.subscribe(filter, 1);
            await().atMost(TIMEOUT)
                    .until(() -> tables.item("mqtt_sub", "clientid", clientId, "topic", filter)
                            .isPresent());
        }
        try (TestMqttClient publisher = TestMqttClient.connect("restore_pub_" + run, PORT)) {
            publisher.publish("restore/" + run + "/kept", "retained while away", 1, true);
        }
        await().atMost(TIMEOUT)
                .until(() -> tables.item("mqtt_retain", "topic", "restore/" + run + "/kept")
                        .isPresent());

        double before = restores("restored");
        try (TestMqttClient again = TestMqttClient.connect(clientId, PORT);
                TestMqttClient publisher = TestMqttClient.connect("restore_pub2_" + run, PORT)) {
            await().atMost(TIMEOUT).until(() -> restores("restored") >= before + 1);
            // As on a fresh subscription: the retained message first, then what is published.
            await().atMost(TIMEOUT).until(() -> again.received().size() == 1);
            publisher.publish("restore/" + run + "/live", "after the restore", 1, false);
            await().atMost(TIMEOUT).until(() -> again.received().size() == 2);
            assertThat(again.received())
                    .extracting(p -> new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8))
                    .containsExactly("retained while away", "after the restore");
            publisher.publish("restore/" + run + "/kept", new byte[0], 1, true);
            await().atMost(TIMEOUT)
                    .until(() -> tables.item("mqtt_retain", "topic", "restore/" + run + "/kept")
                            .isEmpty());
        }
    }

    @Test
    void aClientWithoutStoredSubscriptionsIsLeftAlone() {
        double before = restores("nothing_stored");
        try (TestMqttClient client = TestMqttClient.connect("no_subs_" + run, PORT)) {
            await().atMost(TIMEOUT).until(() -> restores("nothing_stored") >= before + 1);
        }
    }
}
