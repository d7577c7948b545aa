package io.mqttdynamo.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;

import io.mqttdynamo.ingest.IngestChannels;
import io.mqttdynamo.store.WritePipeline;
import io.mqttdynamo.support.BrokerFaultsProfile;
import io.mqttdynamo.support.KillableMosquitto;
import io.mqttdynamo.support.ServiceTest;
import io.mqttdynamo.support.StoreFaults;
import io.quarkus.logging.Log;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/** A broker that lost the service's session while the service held a backlog costs no message (MQTT 5). */
@QuarkusTest
@TestProfile(BrokerFaultsProfile.class)
class BrokerSessionLossTest extends ServiceTest {

    // DynamoDB slowed to a second per write while messages arrive faster than they are stored; Mosquitto without
    // persistence is killed and started again twice while a publisher sends sequence-numbered QoS 1 messages.
    // Every message a killed broker sent the service is stored, the ones not acknowledged yet too, and so is every
    // message the last broker took after it answered the service's SUBSCRIBE (the brokers' logs tell which).

    private static final int PER_SECOND = 400;
    private static final int RESTARTS = 2;
    /** Messages received and not yet stored when the broker is killed. */
    private static final int BACKLOG = 300;

    private static final Duration TIMEOUT = Duration.ofSeconds(90);
    /** How long nothing may have arrived before the broker is killed. */
    private static final Duration QUIET = Duration.ofMillis(300);

    @Inject
    BrokerSessions sessions;

    @Inject
    WritePipeline pipeline;

    @AfterEach
    void clearFaults() {
        StoreFaults.clear();
    }

    @Test
    void aBrokerThatLostTheSessionCostsNoMessage() {
        String prefix = BrokerFaultsProfile.TOPIC_ROOT + "loss/" + run + "/";
        String publisherId = "loss-pub-" + run;
        String serviceClient = sessions.clientIdBase() + "-" + IngestChannels.MESSAGES;
        ChannelSession channel = sessions.sessions().get(IngestChannels.MESSAGES);
        StoreFaults.delayWrites(Duration.ofSeconds(1));
        List<Path> killedBrokerLogs = new ArrayList<>();
        try (SequencePublisher publisher = SequencePublisher.start(publisherId, prefix, PER_SECOND)) {
            for (int i = 0; i < RESTARTS; i++) {
                await("a backlog of " + BACKLOG).atMost(TIMEOUT).until(() -> channel.unacknowledged() >= BACKLOG);
                // Whatever the broker sent has reached the service before it is killed.
                publisher.pause();
                await("nothing more arriving")
                        .atMost(TIMEOUT)
                        .pollInterval(Duration.ofMillis(50))
                        .until(() -> channel.quietNanos() > QUIET.toNanos());
                Log.infof("killing the broker with %d messages unacknowledged", channel.unacknowledged());
                killedBrokerLogs.add(KillableMosquitto.log());
                KillableMosquitto.kill();
                KillableMosquitto.start();
                publisher.resume();
                Path log = KillableMosquitto.log();
                await("the new broker's SUBACK to the service")
                        .atMost(TIMEOUT)
                        .pollInterval(Duration.ofMillis(50))
                        .until(() -> subAckLine(lines(log), serviceClient) >= 0);
                // Publishing on through the time the service still stores what it received before.
                int mark = publisher.sent();
                await("publishing on").atMost(TIMEOUT).until(() -> publisher.sent() >= mark + 2 * PER_SECOND);
            }
        }
        // What a killed broker sent the service was received, acknowledged or not: all of it must be stored.
        Set<Integer> expected = new TreeSet<>();
        for (Path log : killedBrokerLogs) {
            expected.addAll(sentTo(lines(log), serviceClient, prefix));
        }
        int beforeLast = expected.size();
        // The last broker lives on: everything it took once the service was subscribed reaches the service.
        Set<Integer> taken = takenAfterSubAck(lines(KillableMosquitto.log()), serviceClient, publisherId, prefix);
        assertThat(taken).as("messages the last broker took after its SUBACK").hasSizeGreaterThan(PER_SECOND);
        expected.addAll(taken);
        StoreFaults.clear();

        await("stored, or nothing more to store")
                .atMost(TIMEOUT)
                .pollInterval(Duration.ofMillis(500))
                .until(() -> missing(expected, prefix).isEmpty()
                        || (channel.unacknowledged() == 0
                                && pipeline.pending() == 0
                                && channel.quietNanos() > Duration.ofSeconds(2).toNanos()));
        Set<Integer> missing = missing(expected, prefix);
        Log.infof(
                "%d messages sent to the service by the killed brokers, %d taken by the last broker after its SUBACK;"
                        + " %d not stored",
                beforeLast, taken.size(), missing.size());
        assertThat(missing)
                .as(
                        "%d of the %d messages sent to the service by a killed broker or taken by the last"
                                + " broker after its SUBACK are not stored",
                        missing.size(), expected.size())
                .isEmpty();
    }

    private Set<Integer> missing(Set<Integer> expected, String prefix) {
        Set<Integer> missing = new TreeSet<>(expected);
        missing.removeAll(storedSequences(prefix));
        return missing;
    }

    /** The sequence numbers of the messages stored under {@code prefix}. */
    private Set<Integer> storedSequences(String prefix) {
        Set<Integer> stored = new TreeSet<>();
        Map<String, AttributeValue> start = null;
        try {
            do {
                Map<String, AttributeValue> from = start;
                var page = dynamo.scan(b -> b.tableName("mqtt_msg")
                                .projectionExpression("#t")
                                .expressionAttributeNames(Map.of("#t", "topic"))
                                .exclusiveStartKey(from))
                        .get(30, TimeUnit.SECONDS);
                for (Map<String, AttributeValue> item : page.items()) {
                    String topic = item.get("topic").s();
                    if (topic.startsWith(prefix)) {
                        stored.add(Integer.parseInt(topic.substring(prefix.length())));
                    }
                }
                start = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty()
                        ? page.lastEvaluatedKey()
                        : null;
            } while (start != null);
        } catch (Exception e) {
            throw new IllegalStateException("Scan of mqtt_msg failed: " + e.getMessage(), e);
        }
        return stored;
    }

    private static List<String> lines(Path log) {
        try {
            return Files.readAllLines(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Where the broker answered the service's first SUBSCRIBE, or -1. */
    private static int subAckLine(List<String> lines, String serviceClient) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).endsWith("Sending SUBACK to " + serviceClient)) {
                return i;
            }
        }
        return -1;
    }

    /** The sequence number in a log line naming a topic under {@code prefix}, or -1. */
    private static int sequence(String line, String prefix) {
        int topic = line.indexOf("'" + prefix);
        if (topic < 0) {
            return -1;
        }
        int from = topic + 1 + prefix.length();
        return Integer.parseInt(line.substring(from, line.indexOf('\'', from)));
    }

    /**
     * The sequence numbers of the publisher's messages the broker took after it answered the service's
     * SUBSCRIBE: from then on the service's session was subscribed, and each of them was for it. Mosquitto
     * handles one packet at a time, so its log is in the order it did things.
     */
    private static Set<Integer> takenAfterSubAck(
            List<String> lines, String serviceClient, String publisherId, String prefix) {
        Set<Integer> taken = new TreeSet<>();
        String received = "Received PUBLISH from " + publisherId + " (";
        int subAck = subAckLine(lines, serviceClient);
        for (int i = subAck + 1; subAck >= 0 && i < lines.size(); i++) {
            int seq = sequence(lines.get(i), prefix);
            if (seq >= 0 && lines.get(i).contains(received)) {
                taken.add(seq);
            }
        }
        return taken;
    }

    /** The sequence numbers of the messages the broker sent the service. */
    private static Set<Integer> sentTo(List<String> lines, String serviceClient, String prefix) {
        Set<Integer> sent = new TreeSet<>();
        String sending = "Sending PUBLISH to " + serviceClient + " (";
        for (String line : lines) {
            int seq = sequence(line, prefix);
            if (seq >= 0 && line.contains(sending)) {
                sent.add(seq);
            }
        }
        return sent;
    }

    /**
     * Publishes QoS 1 messages numbered from 0 on {@code <prefix><n>} at a steady rate while connected,
     * reconnecting by itself when the broker goes away.
     */
    static final class SequencePublisher implements AutoCloseable {

        private static final int TICK_MILLIS = 5;

        private final Mqtt5AsyncClient client;
        private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
        private final AtomicInteger next = new AtomicInteger();
        private volatile boolean paused;

        private SequencePublisher(Mqtt5AsyncClient client) {
            this.client = client;
        }

        static SequencePublisher start(String clientId, String prefix, int perSecond) {
            Mqtt5AsyncClient client = MqttClient.builder()
                    .useMqttVersion5()
                    .identifier(clientId)
                    .serverHost("127.0.0.1")
                    .serverPort(KillableMosquitto.port())
                    .automaticReconnect()
                    .initialDelay(20, TimeUnit.MILLISECONDS)
                    .maxDelay(200, TimeUnit.MILLISECONDS)
                    .applyAutomaticReconnect()
                    .buildAsync();
            client.connect().join();
            SequencePublisher publisher = new SequencePublisher(client);
            int perTick = Math.max(1, perSecond * TICK_MILLIS / 1000);
            publisher.timer.scheduleAtFixedRate(
                    () -> {
                        // Nothing piles up in the client while the broker is away.
                        if (publisher.paused || !client.getState().isConnected()) {
                            return;
                        }
                        for (int i = 0; i < perTick; i++) {
                            int seq = publisher.next.getAndIncrement();
                            client.publishWith()
                                    .topic(prefix + seq)
                                    .qos(MqttQos.AT_LEAST_ONCE)
                                    .payload(Integer.toString(seq).getBytes(StandardCharsets.UTF_8))
                                    .send();
                        }
                    },
                    0,
                    TICK_MILLIS,
                    TimeUnit.MILLISECONDS);
            return publisher;
        }

        void pause() {
            paused = true;
        }

        void resume() {
            paused = false;
        }

        /** Messages handed to the client so far. */
        int sent() {
            return next.get();
        }

        @Override
        public void close() {
            timer.shutdownNow();
            client.disconnect();
        }
    }
}
