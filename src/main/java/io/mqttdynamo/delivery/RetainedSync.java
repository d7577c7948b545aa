package io.mqttdynamo.delivery;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.mqttdynamo.broker.RetainedBrokerClient;
import io.mqttdynamo.broker.RetainedBrokerClient.Retained;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.domain.EmqxMsgId;
import io.mqttdynamo.hooks.HookFunction;
import io.mqttdynamo.hooks.HookRules;
import io.mqttdynamo.hooks.ItemMapper;
import io.mqttdynamo.store.ItemWrite;
import io.mqttdynamo.store.Tables;
import io.mqttdynamo.store.Tables.Attr;
import io.mqttdynamo.store.WritePipeline;
import io.quarkus.logging.Log;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import mutiny.zero.flow.adapters.AdaptersToFlow;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ScanRequest;

/**
 * on_retain_lookup for a service beside the broker: keeps the broker's retained messages and mqtt_retain in
 * step. The broker's set is read through a short-lived non-shared subscription to {@code #} (retained
 * messages are not sent to {@code $share} subscriptions); retained messages mqtt_retain lacks are stored,
 * rows the broker lacks are republished with the retain flag (paced, from a client whose messages ingest
 * does not store again). Runs on {@code POST /api/retained/restore} and at start-up when the broker kept no
 * session of the service ({@code retained.restore}). One run at a time; bounded in messages and bytes.
 */
@ApplicationScoped
public class RetainedSync {

    static final int MAX_MESSAGES = 100_000;
    static final long MAX_BYTES = 64L * 1024 * 1024;
    static final Duration QUIET = Duration.ofSeconds(1);
    static final Duration MAX_COLLECT = Duration.ofSeconds(60);
    static final int REPUBLISH_PER_SECOND = 200;

    /** What a run found and did. */
    @io.quarkus.runtime.annotations.RegisterForReflection
    public record Report(int brokerRetained, int tableRetained, int stored, int republished, int notRepublishable) {
    }

    /** Refused: another run is in progress, or the function is off. */
    public static final class NotNowException extends RuntimeException {
        NotNowException(String message) {
            super(message);
        }
    }

    private final RetainedBrokerClient broker;
    private final DynamoDbAsyncClient dynamo;
    private final WritePipeline pipeline;
    private final ItemMapper items;
    private final HookRules rules;
    private final boolean restoreAtStart;
    private final EmqxMsgId ids = new EmqxMsgId();
    private final AtomicBoolean running = new AtomicBoolean();
    private final Counter stored;
    private final Counter republished;

    public RetainedSync(RetainedBrokerClient broker, DynamoDbAsyncClient dynamo, WritePipeline pipeline,
            ItemMapper items, HookRules rules, MqttDynamoConfig config, MeterRegistry registry) {
        this.broker = broker;
        this.dynamo = dynamo;
        this.pipeline = pipeline;
        this.items = items;
        this.rules = rules;
        this.restoreAtStart = config.retained().restore();
        this.stored = Counter.builder("mqtt_dynamo_retained_synced").tag("direction", "stored")
                .description("Retained messages put in step between the broker and mqtt_retain").register(registry);
        this.republished = Counter.builder("mqtt_dynamo_retained_synced").tag("direction", "republished")
                .description("Retained messages put in step between the broker and mqtt_retain").register(registry);
    }

    void onStart(@Observes StartupEvent event) {
        if (!restoreAtStart || !rules.enabled(HookFunction.ON_RETAIN_LOOKUP)) {
            return;
        }
        broker.mqtt5()
                .chain(v5 -> v5 ? broker.sessionKept() : Uni.createFrom().item(Boolean.TRUE))
                .onFailure().retry().withBackOff(Duration.ofSeconds(1), Duration.ofSeconds(30)).atMost(20)
                .chain(kept -> {
                    if (kept) {
                        Log.debug("the broker kept the service's session: retained messages are not compared");
                        return Uni.createFrom().nullItem();
                    }
                    Log.info("the broker kept no session of the service: comparing its retained messages with"
                            + " mqtt_retain");
                    return sync().onFailure(NotNowException.class).recoverWithNull()
                            .onFailure(e -> !(e instanceof RetainedBrokerClient.TooManyRetainedException)).retry()
                            .withBackOff(Duration.ofSeconds(1), Duration.ofSeconds(30)).atMost(10);
                })
                .subscribe().with(report -> {
                }, failure -> Log.warnf("retained messages not compared at start-up: %s", failure.getMessage()));
    }

    /** One run; fails with {@link NotNowException} while another runs or when on_retain_lookup is off. */
    public Uni<Report> sync() {
        if (!rules.enabled(HookFunction.ON_RETAIN_LOOKUP)) {
            return Uni.createFrom().failure(new NotNowException("on_retain_lookup is off"));
        }
        return Uni.createFrom().deferred(() -> {
            if (!running.compareAndSet(false, true)) {
                return Uni.createFrom().failure(new NotNowException("a restore of retained messages is running"));
            }
            return broker.mqtt5()
                    .chain(v5 -> v5 ? Uni.createFrom().voidItem() : Uni.createFrom().failure(
                            new IllegalStateException("comparing retained messages needs a broker speaking MQTT 5")))
                    .chain(() -> broker.collect(QUIET, MAX_COLLECT, MAX_MESSAGES, MAX_BYTES))
                    .chain(onBroker -> storedTopics().chain(inTable -> reconcile(onBroker, inTable)))
                    .onTermination().invoke(() -> running.set(false));
        });
    }

    private Uni<Set<String>> storedTopics() {
        ScanRequest scan = ScanRequest.builder().tableName(Tables.RETAIN.tableName())
                .projectionExpression("#t").expressionAttributeNames(Map.of("#t", Attr.TOPIC)).build();
        return Multi.createFrom().publisher(AdaptersToFlow.publisher(dynamo.scanPaginator(scan).items()))
                .select().first(MAX_MESSAGES + 1)
                .map(item -> item.get(Attr.TOPIC).s())
                .collect().asSet()
                .invoke(topics -> {
                    if (topics.size() > MAX_MESSAGES) {
                        throw new RetainedBrokerClient.TooManyRetainedException(
                                "mqtt_retain holds more than " + MAX_MESSAGES + " topics");
                    }
                });
    }

    private Uni<Report> reconcile(Map<String, Retained> onBroker, Set<String> inTable) {
        long now = System.currentTimeMillis();
        List<ItemWrite> writes = new ArrayList<>();
        for (Retained message : onBroker.values()) {
            if (!inTable.contains(message.topic()) && rules.applies(HookFunction.ON_RETAIN_LOOKUP, message.topic())) {
                writes.add(items.retained(new BrokerEvent.MessagePublished(ids.next(), message.topic(), message.qos(),
                        true, "", message.payload(), now)));
            }
        }
        Set<String> missing = new HashSet<>();
        for (String topic : inTable) {
            if (!onBroker.containsKey(topic) && rules.applies(HookFunction.ON_RETAIN_LOOKUP, topic)) {
                missing.add(topic);
            }
        }
        int[] notRepublishable = {0};
        Multi<Retained> rows = Multi.createFrom().iterable(missing)
                .onItem().transformToUniAndConcatenate(topic -> Uni.createFrom().completionStage(
                        () -> dynamo.getItem(b -> b.tableName(Tables.RETAIN.tableName())
                                .key(Map.of(Attr.TOPIC, AttributeValue.fromS(topic))).consistentRead(true))))
                .map(response -> response.hasItem() ? republishable(response.item()) : null)
                .invoke(message -> {
                    if (message == null) {
                        notRepublishable[0]++;
                    }
                })
                .select().where(message -> message != null);
        Uni<Void> store = writes.isEmpty() ? Uni.createFrom().voidItem()
                : Uni.createFrom().completionStage(() -> pipeline.admission()
                        .thenCompose(admitted -> pipeline.submitAll(writes))).replaceWithVoid();
        return store
                .invoke(() -> stored.increment(writes.size()))
                .chain(() -> missing.isEmpty() ? Uni.createFrom().item(0)
                        : broker.republish(rows, REPUBLISH_PER_SECOND))
                .map(count -> {
                    republished.increment(count);
                    Report report = new Report(onBroker.size(), inTable.size(), writes.size(), count,
                            notRepublishable[0]);
                    Log.infof("retained messages: %d on the broker, %d in mqtt_retain; stored %d, republished %d,"
                            + " %d without payload to republish", report.brokerRetained(), report.tableRetained(),
                            report.stored(), report.republished(), report.notRepublishable());
                    return report;
                });
    }

    /** The row as a message to republish; null when its payload was too large to store. */
    private static Retained republishable(Map<String, AttributeValue> item) {
        AttributeValue payload = item.get(Attr.PAYLOAD);
        if (payload == null) {
            return null;
        }
        byte[] bytes = payload.b() != null ? payload.b().asByteArray()
                : payload.s() != null ? payload.s().getBytes(StandardCharsets.UTF_8) : null;
        if (bytes == null || bytes.length == 0) {
            return null;
        }
        int qos = 0;
        AttributeValue q = item.get(Attr.QOS);
        if (q != null && q.n() != null) {
            try {
                qos = Math.max(0, Math.min(2, Integer.parseInt(q.n())));
            } catch (NumberFormatException e) {
                qos = 0;
            }
        }
        return new Retained(item.get(Attr.TOPIC).s(), bytes, qos);
    }
}
