package io.mqttdynamo.ingest;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Event;

import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.mqttdynamo.broker.InboundMqttMetadata;
import io.mqttdynamo.broker.Republisher;
import io.mqttdynamo.config.LogFields;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.domain.EmqxMsgId;
import io.mqttdynamo.hooks.HookRouter;
import io.mqttdynamo.hooks.Republications;
import io.mqttdynamo.store.ItemWrite;
import io.mqttdynamo.store.RejectedWriteException;
import io.mqttdynamo.store.WritePipeline;
import io.quarkus.logging.Log;
import io.smallrye.mutiny.Uni;

/**
 * Where MQTT messages become DynamoDB writes: decodes each message of the three channels, runs the hook
 * functions, hands the writes to the pipeline and acks the message (so the broker gets its PUBACK) only
 * once they are stored.
 *
 * <p>A message that cannot be decoded is logged, counted and acked: it would never decode better. A
 * failure of the service's own (a bug, not the input) leaves the message unacknowledged, so the broker
 * redelivers it to the next session; it is logged, counted and turns liveness down.
 */
@ApplicationScoped
public class EventIngest {

    private final HookRouter router;
    private final WritePipeline pipeline;
    private final MeterRegistry registry;
    private final MqttDynamoConfig.MessageMode mode;
    private final Event<EventStored> stored;
    private final Event<EventTaken> taken;
    private final Event<ClientEventReceived> clientEventReceived;
    private final Map<String, Counter> received;
    private final Map<String, Counter> failed;
    private final Map<String, Timer> persisted;
    private final AtomicLong unacknowledged = new AtomicLong();
    private final EmqxMsgId ids = new EmqxMsgId();
    private final MqttDynamoConfig.EventDialect dialect;
    private final String eventNode;
    private final Republications republications;

    public EventIngest(
            HookRouter router,
            WritePipeline pipeline,
            Event<EventStored> stored,
            Event<EventTaken> taken,
            Event<ClientEventReceived> clientEventReceived,
            MeterRegistry registry,
            MqttDynamoConfig config,
            Republications republications) {
        this.router = router;
        this.republications = republications;
        this.taken = taken;
        this.clientEventReceived = clientEventReceived;
        this.stored = stored;
        this.pipeline = pipeline;
        this.registry = registry;
        this.mode = config.messages().mode();
        this.dialect = config.events().dialect();
        this.eventNode = config.events().node().orElse(config.broker().host());
        this.received = perChannel(registry, "mqtt_dynamo_events_received", "Messages taken from the broker");
        this.failed = perChannel(
                registry,
                "mqtt_dynamo_events_failed",
                "Messages left unacknowledged after a failure of the service (redelivered after a restart)");
        this.persisted = Map.of(
                IngestChannels.CLIENT_EVENTS, persistLatency(registry, IngestChannels.CLIENT_EVENTS),
                IngestChannels.MESSAGES, persistLatency(registry, IngestChannels.MESSAGES),
                IngestChannels.ACKS, persistLatency(registry, IngestChannels.ACKS));
    }

    private static Map<String, Counter> perChannel(MeterRegistry registry, String name, String description) {
        return Map.of(
                IngestChannels.CLIENT_EVENTS, counter(registry, name, description, IngestChannels.CLIENT_EVENTS),
                IngestChannels.MESSAGES, counter(registry, name, description, IngestChannels.MESSAGES),
                IngestChannels.ACKS, counter(registry, name, description, IngestChannels.ACKS));
    }

    /**
     * From when the broker took the message (an envelope's {@code publish_received_at}, on the broker's clock) or,
     * without that, when the service received it, to when its writes were stored: the service's own
     * publish-to-persisted latency, as a histogram with p50 and p99.
     */
    private static Timer persistLatency(MeterRegistry registry, String channel) {
        return Timer.builder("mqtt_dynamo_persist_latency")
                .tag("channel", channel)
                .description("From the broker taking a message (or the service receiving it) to its writes stored")
                .publishPercentiles(0.5, 0.99)
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(60))
                .register(registry);
    }

    private static Counter counter(MeterRegistry registry, String name, String description, String channel) {
        return Counter.builder(name)
                .description(description)
                .tag("channel", channel)
                .register(registry);
    }

    /** Messages that failed inside the service and were left unacknowledged since start. */
    public long unacknowledgedFailures() {
        return unacknowledged.get();
    }

    @Incoming(IngestChannels.CLIENT_EVENTS)
    public Uni<Void> clientEvent(Message<byte[]> message) {
        if (dialect == MqttDynamoConfig.EventDialect.AWS_IOT) {
            return ingestAll(
                    IngestChannels.CLIENT_EVENTS,
                    message,
                    mqtt -> AwsIotEventDecoder.decode(
                            mqtt.topic(), message.getPayload(), mqtt.receivedAtMillis(), eventNode));
        }
        return ingest(
                IngestChannels.CLIENT_EVENTS,
                message,
                mqtt -> EmqxEventDecoder.decode(mqtt.topic(), message.getPayload(), mqtt.receivedAtMillis()));
    }

    @Incoming(IngestChannels.MESSAGES)
    public Uni<Void> published(Message<byte[]> message) {
        return ingest(
                IngestChannels.MESSAGES,
                message,
                mqtt -> Optional.of(
                        mode == MqttDynamoConfig.MessageMode.RAW
                                ? raw(mqtt, message.getPayload())
                                : EnvelopeDecoder.message(message.getPayload(), ids, mqtt.receivedAtMillis())));
    }

    /**
     * A message of a raw subscription. Its sender is unknown, except for the broker's copies of the service's
     * own republications: marked with MQTT 5, recognised by content with MQTT 3.1.1 (see {@link Republications}).
     */
    private BrokerEvent.MessagePublished raw(InboundMqttMetadata mqtt, byte[] payload) {
        boolean ownCopy = republications.takeCopy(
                        mqtt.topic(), payload, mqtt.republishedOf(), !mqtt.mqtt5(), mqtt.receivedAtMillis())
                != null;
        return new BrokerEvent.MessagePublished(
                ids.next(),
                mqtt.topic(),
                mqtt.qos(),
                mqtt.retain(),
                ownCopy ? Republisher.ID_PREFIX : "",
                payload,
                mqtt.receivedAtMillis());
    }

    @Incoming(IngestChannels.ACKS)
    public Uni<Void> acked(Message<byte[]> message) {
        return ingest(
                IngestChannels.ACKS,
                message,
                mqtt -> Optional.of(EnvelopeDecoder.ack(message.getPayload(), mqtt.receivedAtMillis())));
    }

    private Uni<Void> ingest(
            String channel, Message<byte[]> message, Function<InboundMqttMetadata, Optional<BrokerEvent>> decode) {
        return ingestAll(
                channel, message, mqtt -> decode.apply(mqtt).map(List::of).orElse(List.of()));
    }

    /** As {@link #ingest} for a message that carries several events (or none); acked once all are stored. */
    private Uni<Void> ingestAll(
            String channel, Message<byte[]> message, Function<InboundMqttMetadata, List<BrokerEvent>> decode) {
        InboundMqttMetadata mqtt = message.getMetadata(InboundMqttMetadata.class)
                .orElseGet(() -> new InboundMqttMetadata("", 0, false, System.currentTimeMillis(), null, false));
        received.get(channel).increment();
        List<BrokerEvent> events;
        Uni<Void> hold;
        try {
            events = decode.apply(mqtt);
            if (IngestChannels.CLIENT_EVENTS.equals(channel)) {
                notifyReceived(events);
            }
            hold = events.size() == 1 ? router.heldFor(events.get(0), mqtt.receivedAtMillis()) : null;
        } catch (MalformedEventException e) {
            return reject(channel, mqtt, message, e.reason(), e.getMessage());
        } catch (RuntimeException e) {
            failed(channel, mqtt, message, e);
            return Uni.createFrom().voidItem();
        }
        return hold == null
                ? store(channel, mqtt, message, events)
                : hold.chain(() -> store(channel, mqtt, message, events));
    }

    /** Writes what the events cause and acknowledges the message once it is stored. */
    private Uni<Void> store(
            String channel, InboundMqttMetadata mqtt, Message<byte[]> message, List<BrokerEvent> events) {
        List<ItemWrite> writes;
        try {
            if (events.size() == 1) {
                writes = router.writesFor(events.get(0));
            } else {
                writes = new ArrayList<>();
                for (BrokerEvent event : events) {
                    writes.addAll(router.writesFor(event));
                }
            }
        } catch (MalformedEventException e) {
            return reject(channel, mqtt, message, e.reason(), e.getMessage());
        } catch (RuntimeException e) {
            failed(channel, mqtt, message, e);
            return Uni.createFrom().voidItem();
        }
        if (writes.isEmpty()) {
            return Uni.createFrom().completionStage(message::ack).invoke(() -> notifyTaken(events));
        }
        // Done once the pipeline took the writes (its back-pressure); acknowledged once they are stored.
        return pipeline.admission()
                .invoke(() -> pipeline.store(writes)
                        .subscribe()
                        .with(
                                stored -> {
                                    message.ack();
                                    persisted
                                            .get(channel)
                                            .record(
                                                    Math.max(0, System.currentTimeMillis() - takenAt(events, mqtt)),
                                                    TimeUnit.MILLISECONDS);
                                    notify(events);
                                },
                                failure -> {
                                    if (failure instanceof RejectedWriteException) {
                                        // DynamoDB refused an item for good (logged and counted by the pipeline): it
                                        // never will take it.
                                        message.ack();
                                    } else {
                                        failed(channel, mqtt, message, failure);
                                    }
                                }));
    }

    /** When the broker took the message: a published message's own time (the envelope's), else its receipt. */
    private static long takenAt(List<BrokerEvent> events, InboundMqttMetadata mqtt) {
        long at = mqtt.receivedAtMillis();
        for (BrokerEvent event : events) {
            if (event instanceof BrokerEvent.MessagePublished published) {
                at = Math.min(at, published.arrivedMillis());
            }
        }
        return at;
    }

    /** Tells the dashboard and the delivery functions; their failure is theirs, the message is acknowledged. */
    private void notify(List<BrokerEvent> events) {
        try {
            events.forEach(event -> stored.fire(new EventStored(event)));
        } catch (RuntimeException e) {
            Log.warnf(e, "an observer of stored events failed");
        }
        notifyTaken(events);
    }

    /** Tells who follows a client's events in order; their failure is theirs, the event is stored all the same. */
    private void notifyReceived(List<BrokerEvent> events) {
        try {
            events.forEach(event -> clientEventReceived.fire(new ClientEventReceived(event)));
        } catch (RuntimeException e) {
            Log.warnf(e, "an observer of received client events failed");
        }
    }

    private void notifyTaken(List<BrokerEvent> events) {
        try {
            events.forEach(event -> taken.fire(new EventTaken(event)));
        } catch (RuntimeException e) {
            Log.warnf(e, "an observer of taken events failed");
        }
    }

    private Uni<Void> reject(
            String channel, InboundMqttMetadata mqtt, Message<byte[]> message, String reason, String detail) {
        registry.counter("mqtt_dynamo_events_rejected", "channel", channel, "reason", reason)
                .increment();
        try (LogFields fields = LogFields.of(LogFields.CHANNEL, channel)) {
            Log.warnf(
                    "skipped a message on %s (channel %s): %s", LogSafe.of(mqtt.topic()), channel, LogSafe.of(detail));
        }
        return Uni.createFrom().completionStage(message::ack);
    }

    private void failed(String channel, InboundMqttMetadata mqtt, Message<byte[]> message, Throwable cause) {
        failed.get(channel).increment();
        unacknowledged.incrementAndGet();
        try (LogFields fields = LogFields.of(LogFields.CHANNEL, channel)) {
            Log.errorf(
                    cause,
                    "a message on %s (channel %s) failed inside the service; it stays unacknowledged and"
                            + " the broker redelivers it after a restart",
                    LogSafe.of(mqtt.topic()),
                    channel);
        }
        message.nack(cause);
    }
}
