package io.mqttdynamo.broker;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.mqttdynamo.ingest.IngestChannels;
import io.mqttdynamo.store.WritePipeline;
import io.mqttdynamo.support.BrokerFaultsProfile;
import io.mqttdynamo.support.KillableMosquitto;
import io.mqttdynamo.support.PrometheusText;
import io.mqttdynamo.support.ServiceTest;
import io.mqttdynamo.support.StoreFaults;
import io.mqttdynamo.support.TestMqttClient;
import io.quarkus.logging.Log;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/** While DynamoDB fails, QoS 0 past max-queued-qos0 is dropped and counted; QoS 1 all waits and is stored. */
@QuarkusTest
@TestProfile(BrokerFaultsProfile.class)
class StalledStoreQos0Test extends ServiceTest {

    private static final int QOS1_BEFORE = 50;
    private static final int QOS0 = 4_000;
    private static final int QOS1_AFTER = 50;
    private static final int QOS1 = QOS1_BEFORE + QOS1_AFTER;
    private static final int BOUND = BrokerFaultsProfile.MAX_QUEUED_QOS0;
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final String CHANNEL = "{channel=\"" + IngestChannels.MESSAGES + "\"}";

    @Inject
    BrokerSessions sessions;

    @Inject
    WritePipeline pipeline;

    @Inject
    MeterRegistry registry;

    @AfterEach
    void clearFaults() {
        StoreFaults.clear();
    }

    @Test
    void qos0IsDroppedPastTheBoundAndQos1WaitsForTheStore() throws Exception {
        String prefix = BrokerFaultsProfile.TOPIC_ROOT + "stalled/" + run + "/";
        ChannelSession channel = sessions.sessions().get(IngestChannels.MESSAGES);
        Gauge queued = registry.find("mqtt_dynamo_queued_qos0_messages")
                .tag("channel", IngestChannels.MESSAGES)
                .gauge();
        Counter droppedCounter = registry.find("mqtt_dynamo_qos0_dropped")
                .tag("channel", IngestChannels.MESSAGES)
                .counter();
        double droppedBefore = droppedCounter == null ? 0 : droppedCounter.count();
        StoreFaults.failWrites();
        // The most QoS 0 messages the channel held at any time, sampled every millisecond.
        AtomicInteger mostQueued = new AtomicInteger();
        ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
        sampler.scheduleAtFixedRate(
                () -> mostQueued.accumulateAndGet(queued == null ? 0 : (int) queued.value(), Math::max),
                0,
                1,
                TimeUnit.MILLISECONDS);
        try (TestMqttClient publisher = TestMqttClient.connect("stalled-pub-" + run, KillableMosquitto.port())) {
            for (int i = 0; i < QOS1_BEFORE; i++) {
                publisher.publish(prefix + "qos1/" + i, "before " + i, 1, false);
            }
            // More than the pipeline takes before it pushes back, and the channel's bound on top.
            for (int i = 0; i < QOS0; i++) {
                publisher.publish(prefix + "qos0", "qos0 " + i, 0, false);
            }
            for (int i = 0; i < QOS1_AFTER; i++) {
                publisher.publish(prefix + "qos1/" + (QOS1_BEFORE + i), "after " + i, 1, false);
            }
            await("everything received")
                    .atMost(TIMEOUT)
                    .pollInterval(Duration.ofMillis(50))
                    .until(() -> channel.quietNanos() > Duration.ofMillis(500).toNanos());
            // Held now: what the pipeline took (each message at least one write), the QoS 0 bound, the QoS 1 ones.
            Log.infof(
                    "DynamoDB failing: %d messages held, %.0f QoS 0 queued (bound %d), %.0f dropped, %d writes pending",
                    channel.unacknowledged(),
                    queued == null ? 0 : queued.value(),
                    BOUND,
                    droppedCounter == null ? 0 : droppedCounter.count() - droppedBefore,
                    pipeline.pending());
            assertThat(channel.unacknowledged())
                    .as("messages the service holds while DynamoDB fails")
                    .isLessThanOrEqualTo(BrokerFaultsProfile.MAX_PENDING + BOUND + QOS1);
            assertThat(queued).as("gauge mqtt_dynamo_queued_qos0_messages").isNotNull();
            assertThat(queued.value()).as("QoS 0 messages held").isEqualTo(BOUND);
            assertThat(droppedCounter).as("counter mqtt_dynamo_qos0_dropped").isNotNull();
            assertThat(droppedCounter.count()).as("QoS 0 messages dropped").isGreaterThan(droppedBefore);
            assertThat(pipeline.pending())
                    .as("the pipeline pushes back")
                    .isGreaterThanOrEqualTo(BrokerFaultsProfile.MAX_PENDING);
            String metrics =
                    given().get("/q/metrics").then().statusCode(200).extract().asString();
            assertThat(PrometheusText.value(metrics, "mqtt_dynamo_queued_qos0_messages" + CHANNEL))
                    .isEqualTo(BOUND);
            assertThat(PrometheusText.value(metrics, "mqtt_dynamo_qos0_dropped_total" + CHANNEL))
                    .isEqualTo(droppedCounter.count());

            StoreFaults.clear();
            await("every QoS 1 message stored")
                    .atMost(TIMEOUT)
                    .pollInterval(Duration.ofMillis(500))
                    .until(() -> stored(prefix + "qos1/") == QOS1);
            await("the QoS 0 messages kept stored")
                    .atMost(TIMEOUT)
                    .pollInterval(Duration.ofMillis(500))
                    .until(() -> channel.unacknowledged() == 0 && queued.value() == 0);
        } finally {
            sampler.shutdownNow();
        }
        assertThat(mostQueued.get()).as("QoS 0 messages held at most").isEqualTo(BOUND);
        // Every QoS 0 message reached the service (Mosquitto queues for it without limit): each was stored or
        // counted as dropped.
        long dropped = (long) (droppedCounter.count() - droppedBefore);
        assertThat(stored(prefix + "qos0") + dropped)
                .as("stored and dropped QoS 0 messages")
                .isEqualTo(QOS0);
        assertThat(stored(prefix + "qos1/")).isEqualTo(QOS1);
    }

    /** Messages stored in mqtt_msg on {@code topic} or, if it ends with a slash, below it. */
    private long stored(String topic) throws Exception {
        long count = 0;
        Map<String, AttributeValue> start = null;
        do {
            Map<String, AttributeValue> from = start;
            Map<String, AttributeValue> values = new HashMap<>();
            values.put(":t", AttributeValue.fromS(topic));
            var page = dynamo.scan(b -> b.tableName("mqtt_msg")
                            .select("COUNT")
                            .filterExpression(topic.endsWith("/") ? "begins_with(#t, :t)" : "#t = :t")
                            .expressionAttributeNames(Map.of("#t", "topic"))
                            .expressionAttributeValues(values)
                            .exclusiveStartKey(from))
                    .get(30, TimeUnit.SECONDS);
            count += page.count();
            start = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null;
        } while (start != null);
        return count;
    }
}
