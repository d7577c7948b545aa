package io.mqttdynamo.ingest;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3BlockingClient;

import io.mqttdynamo.support.EmbeddedBrokerProfile;
import io.mqttdynamo.support.EmbeddedMqtt311Profile;
import io.mqttdynamo.support.Readiness;
import io.mqttdynamo.support.TableReader;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;

/** Against a broker that refuses MQTT 5, the service falls back to 3.1.1 and the flow still works. */
@QuarkusTest
@TestProfile(EmbeddedMqtt311Profile.class)
class Mqtt311FallbackTest {

    @Inject
    DynamoDbAsyncClient dynamo;

    @Test
    void fallsBackTo311AndStillStoresMessagesWithTheirSender() {
        Readiness.await();
        assertThat(given().get("/q/health/ready").asString())
                .contains("(MQTT_3_1_1)")
                .doesNotContain("(MQTT_5)");
        TableReader tables = new TableReader(dynamo);
        Mqtt3BlockingClient client = MqttClient.builder()
                .useMqttVersion3()
                .identifier("v3-publisher")
                .serverHost("127.0.0.1")
                .serverPort(EmbeddedBrokerProfile.brokerPort())
                .buildBlocking();
        client.connect();
        client.publishWith()
                .topic("v3/topic")
                .qos(MqttQos.AT_LEAST_ONCE)
                .payload("over 3.1.1".getBytes(StandardCharsets.UTF_8))
                .send();
        client.disconnect();
        String msgId = await().atMost(Duration.ofSeconds(20))
                .until(() -> tables.topicMsgIds("v3/topic"), ids -> !ids.isEmpty())
                .get(0);
        var message = await().atMost(Duration.ofSeconds(20))
                .until(() -> tables.item("mqtt_msg", "msgid", msgId).orElse(null), m -> m != null);
        assertThat(message.get("sender").s()).isEqualTo("v3-publisher");
        assertThat(message.get("payload").s()).isEqualTo("over 3.1.1");
    }
}
