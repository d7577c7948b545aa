package io.mqttdynamo.ingest;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.mqttdynamo.broker.InboundMqttMetadata;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.domain.EmqxMsgId;
import io.mqttdynamo.store.ItemWrite;
import io.mqttdynamo.store.RejectedWriteException;
import io.mqttdynamo.store.WritePipeline;
import io.quarkus.logging.Log;

/**
 * Where MQTT messages become DynamoDB writes: decodes each message of the three channels, runs the hook
 * functions, hands the writes to the pipeline and acks the message (so the broker gets its PUBACK) only
 * once they are stored. A message that cannot be decoded is logged, counted and acked: it would never
 * decode better.
 */
@ApplicationScoped
public class EventIngest {

    private final HookRouter router;
    private final WritePipeline pipeline;
    private final MeterRegistry registry;
    private final MqttDynamoConfig.MessageMode mode;
    private final RecentActivity activity;
    private final Map<String, Counter> received = new ConcurrentHashMap<>();
    private final EmqxMsgId ids = new EmqxMsgId();

    public EventIngest(HookRouter router, WritePipeline pipeline, RecentActivity activity, MeterRegistry registry,
            MqttDynamoConfig config) {
        this.router = router;
        this.activity = activity;
        this.pipeline = pipeline;
        this.registry = registry;
        this.mode = config.messages().mode();
    }

    @Incoming(IngestChannels.CLIENT_EVENTS)
    public CompletionStage<Void> clientEvent(Message<byte[]> message) {
        return ingest(IngestChannels.CLIENT_EVENTS, message,
                mqtt -> EmqxEventDecoder.decode(mqtt.topic(), message.getPayload(), mqtt.receivedAtMillis()));
    }

    @Incoming(IngestChannels.MESSAGES)
    public CompletionStage<Void> published(Message<byte[]> message) {
        return ingest(IngestChannels.MESSAGES, message, mqtt -> Optional.of(mode == MqttDynamoConfig.MessageMode.RAW
                ? new BrokerEvent.MessagePublished(ids.next(), mqtt.topic(), mqtt.qos(), mqtt.retain(), "",
                        message.getPayload(), mqtt.receivedAtMillis())
                : EnvelopeDecoder.message(message.getPayload(), ids, mqtt.receivedAtMillis())));
    }

    @Incoming(IngestChannels.ACKS)
    public CompletionStage<Void> acked(Message<byte[]> message) {
        return ingest(IngestChannels.ACKS, message,
                mqtt -> Optional.of(EnvelopeDecoder.ack(message.getPayload(), mqtt.receivedAtMillis())));
    }

    private CompletionStage<Void> ingest(String channel, Message<byte[]> message,
            Function<InboundMqttMetadata, Optional<BrokerEvent>> decode) {
        InboundMqttMetadata mqtt = message.getMetadata(InboundMqttMetadata.class)
                .orElseGet(() -> new InboundMqttMetadata("", 0, false, System.currentTimeMillis()));
        received.computeIfAbsent(channel, c -> registry.counter("mqtt_dynamo_events_received", "channel", c))
                .increment();
        BrokerEvent event;
        List<ItemWrite> writes;
        try {
            event = decode.apply(mqtt).orElse(null);
            writes = event == null ? List.of() : router.writesFor(event);
        } catch (MalformedEventException e) {
            return reject(channel, mqtt, message, e.reason(), e.getMessage());
        } catch (RuntimeException e) {
            Log.debugf(e, "unexpected failure decoding a message of %s", channel);
            return reject(channel, mqtt, message, "invalid_event", e.toString());
        }
        if (writes.isEmpty()) {
            return message.ack();
        }
        return pipeline.admission().thenAccept(admitted -> pipeline.submitAll(writes).whenComplete((ok, failure) -> {
            if (failure == null) {
                activity.stored(event);
            } else if (!(failure.getCause() instanceof RejectedWriteException)
                    && !(failure instanceof RejectedWriteException)) {
                Log.errorf(failure, "writes of a message on %s failed", LogSafe.of(mqtt.topic()));
            }
            message.ack();
        }));
    }

    private CompletionStage<Void> reject(String channel, InboundMqttMetadata mqtt, Message<byte[]> message,
            String reason, String detail) {
        registry.counter("mqtt_dynamo_events_rejected", "channel", channel, "reason", reason).increment();
        Log.warnf("skipped a message on %s (channel %s): %s", LogSafe.of(mqtt.topic()), channel, LogSafe.of(detail));
        return message.ack();
    }
}
