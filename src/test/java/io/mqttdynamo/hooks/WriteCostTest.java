package io.mqttdynamo.hooks;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.domain.EmqxMsgId;
import io.mqttdynamo.store.ItemMapper;
import io.mqttdynamo.store.StoreMetrics;
import io.mqttdynamo.store.Tables;
import io.mqttdynamo.store.WritePipeline;
import io.mqttdynamo.store.local.DynaliteServer;
import io.mqttdynamo.support.DynamoDbProxy;
import io.mqttdynamo.support.LocalDynamoDbResource;
import io.mqttdynamo.support.TableReader;
import io.quarkus.logging.Log;
import io.smallrye.config.SmallRyeConfigBuilder;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;

/**
 * What a stored message costs at steady state, by DynamoDB's own bill: the write units it reports for each
 * write (the local server computes ConsumedCapacity by DynamoDB's rule), and the bytes of its answers. The writes
 * are the ones the hooks make of a message with the default settings (early acknowledgements marked).
 */
class WriteCostTest {

    /** The goal for a 200-byte QoS 1 message with the default functions: at most 3 write units. */
    private static final double MAX_WRITE_UNITS_PER_MESSAGE = 3.0;

    private static final double MAX_RESPONSE_BYTES_PER_MESSAGE = 200;

    private static DynaliteServer dynalite;
    private static DynamoDbProxy proxy;
    private static DynamoDbAsyncClient client;

    private final EmqxMsgId ids = new EmqxMsgId();
    private MqttDynamoConfig config;
    private StoreMetrics metrics;
    private WritePipeline pipeline;
    private EarlyAcks hooks;

    @BeforeAll
    static void start() throws Exception {
        dynalite = DynaliteServer.start(
                Path.of("local-dynamodb"), "127.0.0.1", LocalDynamoDbResource.freePort(), Optional.empty());
        proxy = DynamoDbProxy.start(dynalite.endpoint());
        client = DynamoDbAsyncClient.builder()
                .endpointOverride(URI.create(proxy.endpoint()))
                .region(Region.US_WEST_2)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
                .build();
        for (Tables table : Tables.values()) {
            client.createTable(table.createRequest()).get(10, TimeUnit.SECONDS);
        }
    }

    @AfterAll
    static void stop() {
        client.close();
        proxy.close();
        dynalite.close();
    }

    /** The store and the hooks as the service builds them, with the default settings. */
    @BeforeEach
    void buildTheStoreAndTheHooks() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        config = new SmallRyeConfigBuilder()
                .withMapping(MqttDynamoConfig.class)
                .build()
                .getConfigMapping(MqttDynamoConfig.class);
        metrics = new StoreMetrics(registry);
        pipeline = new WritePipeline(client, metrics, config);
        hooks = new EarlyAcks(
                new ItemMapper(config, registry),
                new ConsumedMessages(),
                config.acks().deleteMessage(),
                config.acks().earlyAcksPerTopic());
    }

    @Test
    void aMessageOnABusyTopicCostsAtMostThreeWriteUnitsOnceItsSetIsFull() throws Exception {
        String topic = "sensors/" + System.nanoTime() + "/temperature";
        byte[] payload = "x".repeat(200).getBytes(StandardCharsets.UTF_8);
        LongAdder responseBytes = new LongAdder();
        proxy.onExchange(
                exchange -> responseBytes.add(exchange.responseBody().getBytes(StandardCharsets.UTF_8).length));

        // Fill the topic's set well past its cap, one message at a time (a trickle, nothing folds).
        for (int i = 0; i < 2 * config.store().topicMsgIdsCap(); i++) {
            store(new BrokerEvent.MessagePublished(
                    ids.next(), topic, 1, false, "", payload, System.currentTimeMillis()));
        }
        double unitsBefore = metrics.consumedWriteUnits();
        long bytesBefore = responseBytes.sum();
        int measured = 4 * config.store().topicMsgIdsCap();
        for (int i = 0; i < measured; i++) {
            store(new BrokerEvent.MessagePublished(
                    ids.next(), topic, 1, false, "", payload, System.currentTimeMillis()));
        }
        double unitsPerMessage = (metrics.consumedWriteUnits() - unitsBefore) / measured;
        double bytesPerMessage = (double) (responseBytes.sum() - bytesBefore) / measured;

        Log.infof(
                "steady state on a full set: %.2f write units and %.0f response bytes per message",
                unitsPerMessage, bytesPerMessage);
        assertThat(unitsPerMessage).as("write units per message").isLessThanOrEqualTo(MAX_WRITE_UNITS_PER_MESSAGE);
        assertThat(bytesPerMessage)
                .as("response bytes per message")
                .isLessThanOrEqualTo(MAX_RESPONSE_BYTES_PER_MESSAGE);
        assertThat(new TableReader(client).topicMsgIds(topic))
                .hasSizeLessThanOrEqualTo(config.store().topicMsgIdsCap());
    }

    @Test
    void anAcknowledgementOfAPendingMessageIsAnsweredWithoutTheTopicsItem() throws Exception {
        String topic = "sensors/" + System.nanoTime() + "/humidity";
        byte[] payload = "x".repeat(200).getBytes(StandardCharsets.UTF_8);
        List<String> pending = new ArrayList<>();
        for (int i = 0; i < config.store().topicMsgIdsCap(); i++) {
            String msgId = ids.next();
            pending.add(msgId);
            store(new BrokerEvent.MessagePublished(msgId, topic, 1, false, "", payload, System.currentTimeMillis()));
        }
        LongAdder responseBytes = new LongAdder();
        proxy.onExchange(
                exchange -> responseBytes.add(exchange.responseBody().getBytes(StandardCharsets.UTF_8).length));

        // Acknowledged in order, one at a time, each while its msgid is pending.
        for (String msgId : pending) {
            pipeline.store(hooks.ack(new BrokerEvent.MessageAcked(
                            msgId, topic, "subscriber", "publisher", 1, System.currentTimeMillis())))
                    .await()
                    .atMost(Duration.ofSeconds(10));
        }

        double bytesPerAck = (double) responseBytes.sum() / pending.size();
        Log.infof("an acknowledgement: %.0f response bytes", bytesPerAck);
        assertThat(bytesPerAck)
                .as("response bytes per acknowledgement")
                .isLessThanOrEqualTo(MAX_RESPONSE_BYTES_PER_MESSAGE);
        assertThat(new TableReader(client).topicMsgIds(topic)).isEmpty();
    }

    private void store(BrokerEvent.MessagePublished message) {
        pipeline.store(hooks.message(message)).await().atMost(Duration.ofSeconds(10));
    }
}
