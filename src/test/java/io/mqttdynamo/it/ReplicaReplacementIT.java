package io.mqttdynamo.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.mqttdynamo.ingest.IngestChannels;
import io.mqttdynamo.support.TestMqttClient;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * Two replicas of the packaged service ({@code java -jar}) in one {@code $share} group against a Mosquitto
 * of the test's own, as a StatefulSet runs them (client ids from stable pod names):
 * <ol>
 * <li>10,000 QoS 1 messages; one replica is killed (SIGKILL) halfway. Mosquitto keeps the killed
 * replica's session, with what it had not acknowledged and its share of what follows. Its replacement,
 * under the same client id, resumes the session: every message is stored, none stranded.</li>
 * <li>Scale-down: the replacement is stopped (SIGTERM) for good while 1,000 more messages come in. It leaves
 * the group, stores what it holds and ends its session, so the remaining replica gets everything that
 * follows and nothing waits in a session nobody will resume.</li>
 * </ol>
 * Raw mode gives a redelivered message a new msgid, so what counts is the distinct payloads (sequence
 * numbers) in mqtt_msg.
 */
class ReplicaReplacementIT {

    private static final int MESSAGES = 10_000;
    private static final int AFTER_SCALE_DOWN = 1_000;
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private TestBed bed;
    private int started;

    @AfterEach
    void stopAll() {
        if (bed != null) {
            bed.close();
        }
    }

    @Test
    void aReplacedReplicaResumesItsSessionAndAReplicaLeavingForGoodEndsIt() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        bed = TestBed.start();
        int brokerPort = bed.brokerPort;
        String topic = "replicas-" + run + "/seq";
        String group = "$share/mqtt-dynamo/replicas-" + run + "/#";
        String pod0 = "mqtt-dynamo-" + run + "-0";
        String pod1 = "mqtt-dynamo-" + run + "-1";

        PackagedService replica0 = start(pod0, group, "never");
        await("replica 0 subscribed")
                .atMost(TIMEOUT)
                .until(() -> replica0.channelConnected(IngestChannels.MESSAGES, pod0));
        PackagedService replica1 = start(pod1, group, "never");
        await("replica 1 subscribed")
                .atMost(TIMEOUT)
                .until(() -> replica1.channelConnected(IngestChannels.MESSAGES, pod1));

        PackagedService replacement;
        try (TestMqttClient publisher = TestMqttClient.connect("replicas-pub-" + run, brokerPort)) {
            for (int i = 0; i < MESSAGES; i++) {
                if (i == MESSAGES / 2) {
                    assertThat(replica1.metric("mqtt_dynamo_events_received_total{channel=\"messages\"}"))
                            .as("replica 1 took its share before it is killed")
                            .isPositive();
                    replica1.kill();
                }
                publisher.publish(topic, Integer.toString(i), 1, false);
            }
            // The replacement pod: the same name, so the same client id, resumes the session.
            replacement = start(pod1, group, "always");
            try (DynamoDbAsyncClient client = CrashRecoveryIT.dynamoClient(bed.dynamo())) {
                await("every message stored")
                        .atMost(TIMEOUT)
                        .pollInterval(Duration.ofSeconds(2))
                        .until(() -> storedSequenceNumbers(client, topic).size() == MESSAGES);
                assertThat(storedSequenceNumbers(client, topic))
                        .containsAll(IntStream.range(0, MESSAGES).boxed().toList());
                assertThat(replacement.log()).contains("session resumed");
                assertThat(replacement.metric("mqtt_dynamo_events_received_total{channel=\"messages\"}"))
                        .as("the replacement got what waited in the session")
                        .isPositive();

                // Scale-down: the replacement leaves for good while messages keep coming.
                for (int i = MESSAGES; i < MESSAGES + AFTER_SCALE_DOWN; i++) {
                    if (i == MESSAGES + AFTER_SCALE_DOWN / 5) {
                        replacement.terminate();
                    }
                    publisher.publish(topic, Integer.toString(i), 1, false);
                }
                assertThat(replacement.exitCode(Duration.ofSeconds(30)))
                        .as("stopped")
                        .isPresent();
                await("every message stored, none left in the ended session")
                        .atMost(TIMEOUT)
                        .pollInterval(Duration.ofSeconds(2))
                        .until(() -> storedSequenceNumbers(client, topic).size() == MESSAGES + AFTER_SCALE_DOWN);
                assertThat(replacement.log()).contains("MQTT session " + pod1 + "-messages ended");
                assertThat(replica0.get("/q/health/ready").orElseThrow()).contains("\"status\": \"UP\"");
            }
        }
    }

    private PackagedService start(String clientId, String topic, String endSessions) throws Exception {
        Map<String, String> env = bed.environment(clientId, topic);
        env.put("MQTT_DYNAMO_BROKER_END_SESSIONS_ON_STOP", endSessions);
        return bed.service(env, "replicas-it-" + clientId.substring(clientId.lastIndexOf('-') + 1) + "-" + started++);
    }

    /** The distinct payloads (sequence numbers) stored in mqtt_msg for {@code topic}: a paged Scan. */
    private static Set<Integer> storedSequenceNumbers(DynamoDbAsyncClient client, String topic) throws Exception {
        Set<Integer> numbers = new TreeSet<>();
        Map<String, AttributeValue> start = null;
        do {
            Map<String, AttributeValue> from = start;
            var page = client.scan(b -> b.tableName("mqtt_msg")
                            .projectionExpression("topic, payload")
                            .exclusiveStartKey(from))
                    .get(30, TimeUnit.SECONDS);
            for (Map<String, AttributeValue> item : page.items()) {
                if (topic.equals(item.get("topic").s())) {
                    numbers.add(Integer.parseInt(item.get("payload").s()));
                }
            }
            start = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null;
        } while (start != null);
        return numbers;
    }
}
