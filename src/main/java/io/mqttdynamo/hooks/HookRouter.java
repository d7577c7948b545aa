package io.mqttdynamo.hooks;

import java.util.ArrayList;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import io.mqttdynamo.broker.BrokerSessions;
import io.mqttdynamo.broker.RetainedBrokerClient;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.domain.EventTopics;
import io.mqttdynamo.domain.TopicFilter;
import io.mqttdynamo.store.ItemWrite;

/** Runs the seed's hook functions: which item writes a broker event causes, given the hook rules. */
@ApplicationScoped
public class HookRouter {

    private final HookRules rules;
    private final ItemMapper items;
    private final boolean storeQos0;
    private final boolean deleteAckedMessage;
    private final ConsumedMessages consumed = new ConsumedMessages();
    /** Retained messages the service republished itself (on_retain_lookup) are stored already. */
    private final String retainedPublisher;
    /** The service's own event topics, never stored as messages when a raw filter also matches them. */
    private final List<TopicFilter> ownTopics = new ArrayList<>();
    private final BrokerSessions sessions;

    public HookRouter(HookRules rules, ItemMapper items, MqttDynamoConfig config, RetainedBrokerClient retainedClient,
            BrokerSessions sessions) {
        this.sessions = sessions;
        this.rules = rules;
        this.retainedPublisher = retainedClient.publisherId();
        this.items = items;
        this.storeQos0 = config.messages().storeQos0();
        this.deleteAckedMessage = config.acks().deleteMessage();
        if (config.messages().mode() == MqttDynamoConfig.MessageMode.RAW) {
            config.acks().topic().filter(t -> !t.isBlank()).map(TopicFilter::parse).ifPresent(ownTopics::add);
            config.events().effectiveTopic().map(TopicFilter::parse).ifPresent(ownTopics::add);
            ownTopics.add(TopicFilter.parse(EventTopics.ALL));
        }
        // The replicas' dashboard snapshots, in either mode (a broker rule may republish them as envelopes).
        ownTopics.add(TopicFilter.parse(EventTopics.CLUSTER_ALL));
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
        } else if (event instanceof BrokerEvent.MessageAcked e) {
            if (rules.applies(HookFunction.ON_MESSAGE_ACKED_FOR_QUEUE, e.topic())) {
                writes.add(items.acked(e));
                writes.add(items.consumed(e));
                if (deleteAckedMessage) {
                    writes.add(items.messageDeleted(e));
                    consumed.consumed(e.msgId());
                }
            }
        }
        return writes;
    }

    /** The client a lifecycle or subscription event is about, null for messages and acks. */
    private static String clientOf(BrokerEvent event) {
        if (event instanceof BrokerEvent.ClientConnected e) {
            return e.clientId();
        } else if (event instanceof BrokerEvent.ClientDisconnected e) {
            return e.clientId();
        } else if (event instanceof BrokerEvent.ClientSubscribed e) {
            return e.clientId();
        } else if (event instanceof BrokerEvent.ClientUnsubscribed e) {
            return e.clientId();
        }
        return null;
    }

    private void messageWrites(BrokerEvent.MessagePublished e, List<ItemWrite> writes) {
        if (!e.sender().isEmpty() && e.sender().startsWith(retainedPublisher)) {
            return;
        }
        for (TopicFilter own : ownTopics) {
            if (own.matches(e.topic())) {
                return;
            }
        }
        if (e.retain() && e.payload().length == 0) {
            // An empty retained publish only clears the topic's retained message; it is no message.
            if (rules.applies(HookFunction.ON_RETAIN_DELETE, e.topic())) {
                writes.add(items.retainDeleted(e));
            }
            return;
        }
        if ((e.qos() > 0 || storeQos0) && rules.applies(HookFunction.ON_MESSAGE_PUBLISH, e.topic())
                && !(deleteAckedMessage && consumed.wasConsumed(e.msgId()))) {
            writes.add(items.message(e));
            writes.add(items.topicMessage(e));
        }
        if (e.retain() && rules.applies(HookFunction.ON_MESSAGE_RETAIN, e.topic())) {
            writes.add(items.retained(e));
        }
    }
}
