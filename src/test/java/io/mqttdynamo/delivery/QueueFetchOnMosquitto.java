package io.mqttdynamo.delivery;

import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import io.mqttdynamo.domain.EmqxMsgId;
import io.mqttdynamo.support.MosquittoProfile;
import io.mqttdynamo.support.ServiceTest;
import io.mqttdynamo.support.TestMqttClient;

/** What the queue-fetch tests against the machine's Mosquitto share: tables, a run id, the client events. */
abstract class QueueFetchOnMosquitto extends ServiceTest {

    static final Duration TIMEOUT = Duration.ofSeconds(30);
    static final int PORT = MosquittoProfile.PORT;

    static String storedTopic(String name) {
        return MosquittoProfile.prefix() + "/data/stored/" + name;
    }

    /** Publishes {@code payloads} on {@code topic} at QoS 1 and gives their msgids once stored, oldest first. */
    List<String> stored(String topic, String... payloads) {
        try (TestMqttClient publisher = TestMqttClient.connect("queue-pub-" + run, PORT)) {
            for (String payload : payloads) {
                publisher.publish(topic, payload, 1, false);
            }
        }
        return pendingIds(topic, payloads.length);
    }

    /** A client subscribed to {@code topic} at QoS 1, reported to the service, once it received {@code count}. */
    TestMqttClient subscriberWith(int count, String clientId, String topic) {
        TestMqttClient worker = TestMqttClient.connect(clientId, PORT);
        worker.subscribe(topic, 1);
        reportSubscribed(clientId, topic, 1);
        await().atMost(TIMEOUT).until(() -> payloads(worker, topic).size() >= count);
        return worker;
    }

    /** The msgids of the topic's unconsumed messages once {@code count} are there, oldest first. */
    List<String> pendingIds(String topic, int count) {
        return await().atMost(TIMEOUT).until(() -> tables.topicMsgIds(topic), ids -> ids.size() == count).stream()
                .sorted(EmqxMsgId.OLDEST_FIRST)
                .toList();
    }

    /**
     * Waits for a message with {@code payload} to be stored on {@code topic} (a client published it after
     * everything else the test checks) and gives the topic's msgids then: the topic's item takes its writes
     * in order, so any earlier message's id would be there too.
     */
    List<String> idsOnceStored(String topic, String payload) {
        return await().atMost(TIMEOUT)
                .until(
                        () -> tables.topicMsgIds(topic),
                        ids -> ids.stream()
                                .anyMatch(id -> tables.item("mqtt_msg", "msgid", id)
                                        .map(i ->
                                                payload.equals(i.get("payload").s()))
                                        .orElse(false)));
    }

    /** Tells the service, as EMQX's {@code $SYS} client event would, that {@code clientId} subscribed. */
    void reportSubscribed(String clientId, String filter, int qos) {
        String topic = MosquittoProfile.prefix() + "/sys/brokers/emqx@node1/clients/" + clientId + "/subscribed";
        String event = "{\"clientid\":\"" + clientId + "\",\"username\":\"u\",\"topic\":\"" + filter
                + "\",\"subopts\":{\"qos\":" + qos + "},\"ts\":" + System.currentTimeMillis() + "}";
        try (TestMqttClient broker = TestMqttClient.connect("fake-emqx-" + run, PORT)) {
            broker.publish(topic, event, 1, false);
        }
    }

    static List<String> payloads(TestMqttClient client, String topic) {
        return client.received().stream()
                .filter(p -> p.getTopic().toString().equals(topic))
                .map(p -> new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8))
                .toList();
    }
}
