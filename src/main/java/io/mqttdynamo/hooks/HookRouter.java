package io.mqttdynamo.hooks;

import java.util.ArrayList;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.mqttdynamo.broker.BrokerSessions;
import io.mqttdynamo.broker.Republisher;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.domain.EventTopics;
import io.mqttdynamo.domain.TopicFilter;
import io.mqttdynamo.store.ItemMapper;
import io.mqttdynamo.store.ItemWrite;
import io.smallrye.mutiny.Uni;

/** Runs the seed's hook functions: which item writes a broker event causes, given the hook rules. */
@ApplicationScoped
public class HookRouter {

    private final HookRules rules;
    private final ItemMapper items;
    private final boolean storeQos0;
    private final EarlyAcks earlyAcks;
    private final Republications republications;
    private final boolean envelopes;
    private final Counter copyAcksMapped;
    private final Counter copyAcksUnmapped;
    /** The service's own event topics, never stored as messages when a raw filter also matches them. */
    private final List<TopicFilter> ownTopics = new ArrayList<>();

    private final BrokerSessions sessions;

    public HookRouter(
            HookRules rules,
            ItemMapper items,
            MqttDynamoConfig config,
            BrokerSessions sessions,
            Republications republications,
            MeterRegistry registry) {
        this.sessions = sessions;
        this.rules = rules;
        this.republications = republications;
        this.copyAcksMapped = Counter.builder("mqtt_dynamo_republished_acks")
                .tag("result", "original")
                .description("Acknowledgements of the service's copies of stored messages")
                .register(registry);
        this.copyAcksUnmapped = Counter.builder("mqtt_dynamo_republished_acks")
                .tag("result", "unknown_copy")
                .description("Acknowledgements of the service's copies of stored messages")
                .register(registry);
        this.items = items;
        this.storeQos0 = config.messages().storeQos0();
        this.earlyAcks = new EarlyAcks(
                items,
                new ConsumedMessages(),
                config.acks().deleteMessage(),
                config.acks().earlyAcksPerTopic());
        this.envelopes = config.messages().mode() == MqttDynamoConfig.MessageMode.ENVELOPE;
        if (config.messages().mode() == MqttDynamoConfig.MessageMode.RAW) {
            config.acks()
                    .topic()
                    .filter(t -> !t.isBlank())
                    .map(TopicFilter::parse)
                    .ifPresent(ownTopics::add);
            config.events().effectiveTopic().map(TopicFilter::parse).ifPresent(ownTopics::add);
            ownTopics.add(TopicFilter.parse(EventTopics.ALL));
        }
        // The replicas' dashboard snapshots, in either mode (a broker rule may republish them as envelopes).
        ownTopics.add(TopicFilter.parse(EventTopics.CLUSTER_ALL));
    }

    /** True for the service's own topics (replicas' figures; in raw mode its event topics): never stored. */
    public boolean isServiceTopic(String topic) {
        for (TopicFilter own : ownTopics) {
            if (own.matches(topic)) {
                return true;
            }
        }
        return false;
    }

    /** The writes {@code event} causes; empty when no enabled function applies. */
    public List<ItemWrite> writesFor(BrokerEvent event) {
        String client = clientOf(event);
        if (client != null && sessions.isOwnClient(client)) {
            // The service's own sessions (channels, retained scans) are no clients of the broker's users.
            return List.of();
        }
        List<ItemWrite> writes = new ArrayList<>(2);
        if (event instanceof BrokerEvent.ClientConnected e) {
            if (rules.enabled(HookFunction.ON_CLIENT_CONNECTED)) {
                writes.add(items.connected(e));
            }
        } else if (event instanceof BrokerEvent.ClientDisconnected e) {
            if (rules.enabled(HookFunction.ON_CLIENT_DISCONNECTED)) {
                writes.add(items.disconnected(e));
            }
        } else if (event instanceof BrokerEvent.ClientSubscribed e) {
            if (rules.applies(HookFunction.ON_CLIENT_SUBSCRIBED, e.topic())) {
                writes.add(items.subscribed(e));
            }
        } else if (event instanceof BrokerEvent.ClientUnsubscribed e) {
            if (rules.applies(HookFunction.ON_CLIENT_UNSUBSCRIBED, e.topic())) {
                writes.add(items.unsubscribed(e));
            }
            if (rules.applies(HookFunction.ON_ACKED_DELETE, e.topic())) {
                writes.add(items.ackedDeleted(e));
            }
        } else if (event instanceof BrokerEvent.MessagePublished e) {
            messageWrites(e, writes);
        } else if (event instanceof BrokerEvent.MessageAcked acked) {
            BrokerEvent.MessageAcked e = Republisher.isRepublisher(acked.fromClientId()) ? ofOriginal(acked) : acked;
            if (e != null && rules.applies(HookFunction.ON_MESSAGE_ACKED_FOR_QUEUE, e.topic())) {
                writes.add(items.acked(e));
                writes.addAll(earlyAcks.ack(e));
            }
        }
        return writes;
    }

    /**
     * A stage to wait for before {@link #writesFor} can map {@code event}, or null: an acknowledgement of the
     * service's copy that names no original waits briefly for the copy's envelope (see
     * {@link Republications#copyReported}).
     */
    public Uni<Void> heldFor(BrokerEvent event, long nowMillis) {
        if (event instanceof BrokerEvent.MessageAcked acked
                && acked.republishedOf().isEmpty()
                && Republisher.isRepublisher(acked.fromClientId())) {
            return republications.copyReported(acked.msgId(), acked.topic(), nowMillis);
        }
        return null;
    }

    /** The client a lifecycle, subscription or ack event is about (the acker), null for messages. */
    private static String clientOf(BrokerEvent event) {
        if (event instanceof BrokerEvent.ClientConnected e) {
            return e.clientId();
        } else if (event instanceof BrokerEvent.ClientDisconnected e) {
            return e.clientId();
        } else if (event instanceof BrokerEvent.ClientSubscribed e) {
            return e.clientId();
        } else if (event instanceof BrokerEvent.ClientUnsubscribed e) {
            return e.clientId();
        } else if (event instanceof BrokerEvent.MessageAcked e) {
            // The service's own sessions acknowledge what they take: that consumes nothing.
            return e.clientId();
        }
        return null;
    }

    /**
     * An acknowledgement of a message the service published (a copy of a stored one, which the broker gave a
     * new id) consumes the stored original: named by the copy's mark, or remembered from the copy's envelope;
     * null (nothing written) when neither is known.
     */
    private BrokerEvent.MessageAcked ofOriginal(BrokerEvent.MessageAcked acked) {
        String original =
                acked.republishedOf().isEmpty() ? republications.originalOf(acked.msgId()) : acked.republishedOf();
        if (original == null) {
            // Its envelope came to another replica, or not within the hold: the original cannot be named. Writing the
            // copy's id would move the client's last ack past originals it never received.
            copyAcksUnmapped.increment();
            return null;
        }
        copyAcksMapped.increment();
        return acked.withMsgId(original);
    }

    private void messageWrites(BrokerEvent.MessagePublished e, List<ItemWrite> writes) {
        if (Republisher.isRepublisher(e.sender())) {
            // A copy of a stored message: stored already. Its envelope tells the copy's new id, which its
            // acknowledgements will name (raw mode has recognised the copy and knows no broker id).
            if (envelopes) {
                republications.copyPublished(e.msgId(), e.topic(), e.payload(), System.currentTimeMillis());
            }
            return;
        }
        if (!e.sender().isEmpty() && sessions.isOwnClient(e.sender())) {
            // Published by the service itself (retained messages put back): stored already.
            return;
        }
        if (isServiceTopic(e.topic())) {
            return;
        }
        if (e.retain() && e.payload().length == 0) {
            // An empty retained publish only clears the topic's retained message; it is no message.
            if (rules.applies(HookFunction.ON_RETAIN_DELETE, e.topic())) {
                writes.add(items.retainDeleted(e));
            }
            return;
        }
        if ((e.qos() > 0 || storeQos0) && rules.applies(HookFunction.ON_MESSAGE_PUBLISH, e.topic())) {
            writes.addAll(earlyAcks.message(e));
        }
        if (e.retain() && rules.applies(HookFunction.ON_MESSAGE_RETAIN, e.topic())) {
            writes.add(items.retained(e));
        }
    }
}
