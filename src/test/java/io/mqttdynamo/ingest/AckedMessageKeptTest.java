package io.mqttdynamo.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.support.EmbeddedBrokerProfile;
import io.mqttdynamo.support.EmbeddedBrokerTest;
import io.mqttdynamo.support.TableReader;
import io.mqttdynamo.support.TestMqttClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/** By default an acknowledged message leaves its topic's pending set and keeps its mqtt_msg item. */
@QuarkusTest
@TestProfile(EmbeddedBrokerProfile.class)
class AckedMessageKeptTest extends EmbeddedBrokerTest {

    @Test
    void anAckedMessageIsConsumedButItsItemStays() {
        String msgId = AckFlow.publishAndAck(tables, "kept/" + run, run, TIMEOUT);
        assertThat(tables.item("mqtt_msg", "msgid", msgId))
                .as("the message item after its ack is stored")
                .isPresent();
    }

    /** One message published, received and acknowledged by a subscriber on the embedded broker. */
    static final class AckFlow {

        private AckFlow() {}

        /** The acked message's id, once the ack's writes are stored (ack row and pending set). */
        static String publishAndAck(TableReader tables, String topic, String run, Duration timeout) {
            int port = EmbeddedBrokerProfile.brokerPort();
            String subscriberId = "acker_" + run;
            try (TestMqttClient subscriber = TestMqttClient.connect(subscriberId, port);
                    TestMqttClient publisher = TestMqttClient.connect("ackpub_" + run, port)) {
                subscriber.subscribe(topic, 1);
                publisher.publish(topic, "a job", 1, false);
                await().atMost(timeout).until(() -> subscriber.received().size() == 1);
                String msgId = await().atMost(timeout)
                        .until(
                                () -> tables.item("mqtt_acked", "topic", topic, "clientid", subscriberId)
                                        .map(i -> i.get("msgid").s())
                                        .orElse(null),
                                id -> id != null);
                await().atMost(timeout).until(() -> !tables.topicMsgIds(topic).contains(msgId));
                return msgId;
            }
        }
    }
}
