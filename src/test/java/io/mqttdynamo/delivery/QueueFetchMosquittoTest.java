package io.mqttdynamo.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;

import io.mqttdynamo.broker.Republisher;
import io.mqttdynamo.support.QueueFetchMosquittoProfile;
import io.mqttdynamo.support.TestMqttClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/**
 * on_message_fetch_for_queue beside Mosquitto in raw mode over MQTT 5: a new QoS 1 subscriber gets the
 * topic's unconsumed messages again, oldest first, published on their topic with the service's mark; the
 * service's own raw subscription takes the copies without storing them again.
 */
@QuarkusTest
@TestProfile(QueueFetchMosquittoProfile.class)
class QueueFetchMosquittoTest extends QueueFetchOnMosquitto {

    @Test
    void aNewSubscriberGetsTheUnconsumedMessagesAgainAndTheCopiesAreNotStored() {
        String topic = storedTopic("jobs-" + run);
        List<String> originals = stored(topic, "job 1", "job 2");
        try (TestMqttClient worker = subscriberWith(2, "queue-worker-" + run, topic);
                TestMqttClient publisher = TestMqttClient.connect("queue-pub2-" + run, PORT)) {
            assertThat(payloads(worker, topic)).containsExactly("job 1", "job 2");
            assertThat(worker.received()).extracting(QueueFetchMosquittoTest::mark)
                    .as("each copy names its stored original").containsExactlyElementsOf(originals);

            // A later message of the topic is stored after the copies would have been: once it is there, the
            // copies' absence is final.
            publisher.publish(topic, "job 3", 1, false);
            assertThat(idsOnceStored(topic, "job 3")).as("the originals and job 3, no copy").hasSize(3)
                    .containsAll(originals);
        }
    }

    private static String mark(Mqtt5Publish publish) {
        return publish.getUserProperties().asList().stream()
                .filter(p -> p.getName().toString().equals(Republisher.MARKER))
                .map(p -> p.getValue().toString()).findFirst().orElse("(no mark)");
    }
}
