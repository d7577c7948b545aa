package io.mqttdynamo.bench;

import static io.mqttdynamo.bench.BenchSupport.log;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;

import io.mqttdynamo.domain.EmqxMsgId;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * A hand-written bridge as one would write it, the benchmark's yardstick: a QoS 1 subscriber that, for each
 * message in turn, does a PutItem and an UpdateItem ADD and then acknowledges.
 */
final class NaiveBridge implements AutoCloseable {

    private final BenchSettings settings;
    private final DynamoDbAsyncClient db;
    private final int brokerPort;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread thread = new Thread(r, "naive-bridge");
        thread.setDaemon(true);
        return thread;
    });
    private Mqtt5AsyncClient subscriber;
    private BenchPublisher publisher;

    NaiveBridge(BenchSettings settings, DynamoDbAsyncClient db, int brokerPort) {
        this.settings = settings;
        this.db = db;
        this.brokerPort = brokerPort;
    }

    /** The messages it stores per second, fed as fast as it takes them. */
    Double run() throws Exception {
        int messages = settings.messages();
        BenchSupport.createTable(db, "naive_msg", "msgid");
        BenchSupport.createTable(db, "naive_topic_msg_map", "topic");
        log("naive bridge: %d messages", messages);
        AtomicInteger written = new AtomicInteger();
        AtomicInteger failures = new AtomicInteger();
        EmqxMsgId ids = new EmqxMsgId();
        subscriber = MqttClient.builder()
                .useMqttVersion5()
                .identifier("bench-naive-" + settings.run())
                .serverHost("127.0.0.1")
                .serverPort(brokerPort)
                .buildAsync();
        subscriber.publishes(
                MqttGlobalPublishFilter.SUBSCRIBED,
                publish -> {
                    String msgId = ids.next();
                    String topic = publish.getTopic().toString();
                    try {
                        db.putItem(b -> b.tableName("naive_msg")
                                        .item(Map.of(
                                                "msgid", AttributeValue.fromS(msgId),
                                                "topic", AttributeValue.fromS(topic),
                                                "qos", AttributeValue.fromN("1"),
                                                "sender", AttributeValue.fromS(""),
                                                "retain", AttributeValue.fromN("0"),
                                                "arrived",
                                                        AttributeValue.fromN(
                                                                Long.toString(System.currentTimeMillis() / 1000)),
                                                "payload",
                                                        AttributeValue.fromS(new String(
                                                                publish.getPayloadAsBytes(), StandardCharsets.UTF_8)))))
                                .join();
                        db.updateItem(b -> b.tableName("naive_topic_msg_map")
                                        .key(Map.of("topic", AttributeValue.fromS(topic)))
                                        .updateExpression("ADD MsgId :id")
                                        .expressionAttributeValues(
                                                Map.of(":id", AttributeValue.fromSs(List.of(msgId)))))
                                .join();
                        written.incrementAndGet();
                        publish.acknowledge();
                    } catch (RuntimeException e) {
                        failures.incrementAndGet();
                        publish.acknowledge();
                    }
                },
                worker,
                true);
        subscriber.connectWith().cleanStart(true).send().get(30, TimeUnit.SECONDS);
        subscriber
                .subscribeWith()
                .topicFilter("bench/#")
                .qos(MqttQos.AT_LEAST_ONCE)
                .send()
                .get(30, TimeUnit.SECONDS);
        publisher = BenchPublisher.connect(settings, brokerPort, "bench-naive-pub-" + settings.run());
        long start = System.nanoTime();
        CompletableFuture<Void> publishing =
                CompletableFuture.runAsync(() -> publisher.publishAll("raw", 0, messages, 0, null));
        long[] lastProgress = {start};
        int[] last = {-1};
        long[] end = {0};
        BenchSupport.Stall stalled = new BenchSupport.Stall(messages, settings.stall());
        BenchSupport.poll(Duration.ofMillis(50), () -> {
            int now = written.get() + failures.get();
            long t = System.nanoTime();
            if (now >= messages) {
                end[0] = t;
                return true;
            }
            if (now != last[0]) {
                last[0] = now;
                lastProgress[0] = t;
            }
            if (stalled.check(now, t) || t - start > settings.maxWait().toNanos()) {
                log("naive bridge: gave up with %d of %d written", now, messages);
                end[0] = lastProgress[0];
                return true;
            }
            return false;
        });
        BenchSupport.finish(publishing, settings.stall());
        if (failures.get() > 0) {
            log("naive bridge: %d writes failed", failures.get());
        }
        return BenchSupport.round(written.get() / ((end[0] - start) / 1e9), 0);
    }

    @Override
    public void close() throws Exception {
        try {
            if (publisher != null) {
                publisher.close();
            }
            if (subscriber != null) {
                subscriber.disconnect().get(5, TimeUnit.SECONDS);
            }
        } finally {
            worker.shutdownNow();
        }
    }
}
