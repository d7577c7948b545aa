package io.mqttdynamo.store;

import static io.mqttdynamo.store.Tables.Attr;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import jakarta.enterprise.context.ApplicationScoped;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.config.MqttDynamoConfig.TimeUnitSetting;
import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.domain.EmqxMsgId;
import io.mqttdynamo.domain.Payloads;

import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * Turns broker events into the item writes of the EMQX backend, with its exact attribute names and
 * types: what each hook function writes.
 */
@ApplicationScoped
public class ItemMapper {

    private static final AttributeValue ZERO = AttributeValue.fromN("0");
    private static final AttributeValue ONE = AttributeValue.fromN("1");
    /** A client update applies only when it is not older than what is stored. */
    private static final String NOT_OLDER =
            "attribute_not_exists(#clientid) OR (#online_at <= :at AND #offline_at <= :at)";

    private static final Map<String, String> CLIENT_NAMES = Map.of(
            "#clientid",
            Attr.CLIENTID,
            "#node",
            Attr.NODE,
            "#state",
            Attr.CONNECT_STATE,
            "#online_at",
            Attr.ONLINE_AT,
            "#offline_at",
            Attr.OFFLINE_AT);
    /**
     * With a connection number (AWS IoT's versionNumber): among events close in time a higher number is a later
     * connection whatever the times say (AWS's timestamps are accurate to +/- 2 minutes); times decide against an
     * item without one. Close in time means the stored times are at most {@link #VERSION_RESET_AFTER} newer than
     * the event; an event more than that newer than both stored times wins whatever its number: AWS IoT resets
     * the number to 0 for a client that was away for about an hour (and after its persistent session expired),
     * and a client with a lower number would stay offline for good.
     * See https://docs.aws.amazon.com/iot/latest/developerguide/life-cycle-events.html (versionNumber).
     */
    private static final String CONNECTED_NEWER = "attribute_not_exists(#clientid)"
            + " OR (#online_at < :reset AND #offline_at < :reset)"
            + " OR (#online_at <= :close AND #offline_at <= :close AND #version < :v)"
            + " OR (attribute_not_exists(#version) AND #online_at <= :at AND #offline_at <= :at)";
    /** A connection's disconnect has its connect's number and comes after it; a repeated one changes nothing. */
    private static final String DISCONNECTED_NEWER = "attribute_not_exists(#clientid)"
            + " OR (#online_at < :reset AND #offline_at < :reset)"
            + " OR (#online_at <= :close AND #offline_at <= :close"
            + " AND (#version < :v OR (#version = :v AND #state = :one)))"
            + " OR (attribute_not_exists(#version) AND #online_at <= :at AND #offline_at <= :at)";
    /**
     * How much newer than the stored times an event must be to win over a higher connection number: far beyond
     * the timestamps' 2 minutes of inaccuracy, well below the hour after which AWS IoT starts again at 0.
     */
    static final java.time.Duration VERSION_RESET_AFTER = java.time.Duration.ofMinutes(10);

    private static final Map<String, String> VERSIONED_CLIENT_NAMES = Map.of(
            "#clientid",
            Attr.CLIENTID,
            "#node",
            Attr.NODE,
            "#state",
            Attr.CONNECT_STATE,
            "#online_at",
            Attr.ONLINE_AT,
            "#offline_at",
            Attr.OFFLINE_AT,
            "#version",
            Attr.VERSION_NUMBER);
    private static final Map<String, String> INDEXED_CLIENT_NAMES;

    static {
        Map<String, String> names = new HashMap<>(CLIENT_NAMES);
        names.put("#online_shard", Attr.ONLINE_SHARD);
        names.put("#client_shard", Attr.CLIENT_SHARD);
        INDEXED_CLIENT_NAMES = Map.copyOf(names);
    }

    private final TimeUnitSetting timeUnit;
    private final int topicMsgIdsCap;
    private final int maxStoredPayload;
    private final Optional<Duration> messageTtl;
    private final Counter truncated;

    public ItemMapper(MqttDynamoConfig config, MeterRegistry registry) {
        this.timeUnit = config.timeUnit();
        this.maxStoredPayload = config.messages().maxStoredPayload();
        this.messageTtl = config.store().messageTtl();
        this.topicMsgIdsCap = config.store().topicMsgIdsCap();
        this.truncated = Counter.builder("mqtt_dynamo_payloads_truncated")
                .description("Payloads too large for a DynamoDB item, stored without payload")
                .register(registry);
    }

    /**
     * on_client_connected: the client is online since the event's time; offline_at back to 0. Besides the
     * EMQX attributes, the client's shard goes into {@code client_shard} (client id index) and
     * {@code online_shard} (the sparse index of online clients); the counters follow the change. A client id
     * over 1024 bytes cannot be an index sort key (DynamoDB would refuse the whole update): such a client is
     * stored without them, outside the indexes and the counters.
     */
    public ItemWrite connected(BrokerEvent.ClientConnected e) {
        return clientUpdate(
                e.clientId(),
                e.version(),
                e.atMillis(),
                true,
                "SET #node = :node, #state = :one, #online_at = :at, #offline_at = :zero",
                Map.of(":node", s(e.node()), ":one", ONE, ":zero", ZERO, ":at", time(e.atMillis())));
    }

    /** on_client_disconnected: the client is offline since the event's time; it leaves the online index. */
    public ItemWrite disconnected(BrokerEvent.ClientDisconnected e) {
        return clientUpdate(
                e.clientId(),
                e.version(),
                e.atMillis(),
                false,
                "SET #state = :zero, #offline_at = :at, #online_at = if_not_exists(#online_at, :zero),"
                        + " #node = if_not_exists(#node, :node)",
                Map.of(":node", s(e.node()), ":zero", ZERO, ":at", time(e.atMillis())));
    }

    /**
     * The conditional update of a client's state: ordered by time, or by AWS IoT's connection number when
     * the event has one; with the index attributes unless the client id is too long for an index key.
     * DynamoDB refuses names and values an expression does not use, so each is added with its use.
     */
    private ItemWrite clientUpdate(
            String clientId,
            long version,
            long atMillis,
            boolean online,
            String set,
            Map<String, AttributeValue> setValues) {
        StringBuilder update = new StringBuilder(set);
        Map<String, String> names = new HashMap<>(CLIENT_NAMES);
        Map<String, AttributeValue> values = new HashMap<>(setValues);
        String condition = NOT_OLDER;
        if (version != BrokerEvent.NO_VERSION) {
            update.append(", #version = :v");
            names.put("#version", Attr.VERSION_NUMBER);
            values.put(":v", n(version));
            values.put(":reset", time(atMillis - VERSION_RESET_AFTER.toMillis()));
            values.put(":close", time(atMillis + VERSION_RESET_AFTER.toMillis()));
            condition = online ? CONNECTED_NEWER : DISCONNECTED_NEWER;
            if (!online) {
                values.put(":one", ONE);
            }
        }
        if (!Indexes.indexable(clientId)) {
            return new ItemWrite.ConditionalUpdate(
                    Tables.CLIENT, clientKey(clientId), update.toString(), condition, names, values);
        }
        String shard = Indexes.shardOf(clientId);
        names.putAll(INDEXED_CLIENT_NAMES);
        values.put(":shard", s(shard));
        update.append(
                online
                        ? ", #online_shard = :shard, #client_shard = :shard"
                        : ", #client_shard = :shard REMOVE #online_shard");
        return new ItemWrite.ConditionalUpdate(
                Tables.CLIENT,
                clientKey(clientId),
                update.toString(),
                condition,
                names,
                values,
                new ItemWrite.Presence(online, shard));
    }

    /** A subscription row of mqtt_sub. */
    public ItemWrite subscribed(BrokerEvent.ClientSubscribed e) {
        return new ItemWrite.Put(
                Tables.SUB, Map.of(Attr.CLIENTID, s(e.clientId()), Attr.TOPIC, s(e.topic()), Attr.QOS, n(e.qos())));
    }

    /** Removes the subscription row. */
    public ItemWrite unsubscribed(BrokerEvent.ClientUnsubscribed e) {
        return new ItemWrite.Delete(Tables.SUB, Map.of(Attr.CLIENTID, s(e.clientId()), Attr.TOPIC, s(e.topic())));
    }

    /** on_acked_delete: the client's ack row of the unsubscribed topic goes. */
    public ItemWrite ackedDeleted(BrokerEvent.ClientUnsubscribed e) {
        return new ItemWrite.Delete(Tables.ACKED, Map.of(Attr.TOPIC, s(e.topic()), Attr.CLIENTID, s(e.clientId())));
    }

    /** on_message_publish, first half: the message item of mqtt_msg. */
    public ItemWrite message(BrokerEvent.MessagePublished e) {
        Map<String, AttributeValue> item = messageAttributes(e);
        item.put(Attr.MSGID, s(e.msgId()));
        item.put(Attr.TOPIC, s(e.topic()));
        messageTtl.ifPresent(ttl -> item.put(
                Attr.EXPIRES_AT, AttributeValue.fromN(Long.toString((e.arrivedMillis() + ttl.toMillis()) / 1000))));
        return new ItemWrite.Put(Tables.MSG, withPayload(item, e.payload()));
    }

    /** on_message_publish, second half: the msgid joins its topic's set in mqtt_topic_msg_map. */
    public ItemWrite topicMessage(BrokerEvent.MessagePublished e) {
        return topicMessage(e, List.of(), null);
    }

    /**
     * ... made only while the msgid is not marked as acknowledged early ({@code acked_first}); when it is, the
     * addition is not made and {@code then} decides what follows from the item as read. The answer of a usual
     * addition is empty: a set returned with every message would cost its bytes each time.
     */
    public ItemWrite topicMessageUnlessAcked(BrokerEvent.MessagePublished e, List<ItemWrite.Then> then) {
        return topicMessage(e, then, Attr.ACKED_FIRST);
    }

    private ItemWrite topicMessage(BrokerEvent.MessagePublished e, List<ItemWrite.Then> then, String unlessIn) {
        return new ItemWrite.AddToSet(
                Tables.TOPIC_MSG_MAP,
                topicKey(e.topic()),
                Attr.MSG_ID_SET,
                Set.of(e.msgId()),
                topicMsgIdsCap,
                EmqxMsgId.OLDEST_FIRST,
                then,
                unlessIn);
    }

    /**
     * on_message_publish, first half, as an UpdateItem (the same item as {@link #message}, the same capacity):
     * what follows it ({@code then}) is written once it is stored.
     */
    public ItemWrite messageThen(BrokerEvent.MessagePublished e, List<ItemWrite.Then> then) {
        Map<String, AttributeValue> item = new HashMap<>(((ItemWrite.Put) message(e)).item());
        item.remove(Attr.MSGID);
        Map<String, String> names = new HashMap<>();
        Map<String, AttributeValue> values = new HashMap<>();
        return new ItemWrite.ConditionalUpdate(
                Tables.MSG,
                Map.of(Attr.MSGID, s(e.msgId())),
                setAll(item, names, values),
                null,
                names,
                values,
                null,
                then);
    }

    /**
     * An acknowledgement came before its message: the msgid is marked in its topic's item ({@code acked_first},
     * the {@code cap} newest kept), for the replica that stores the message later.
     */
    public ItemWrite earlyAck(String topic, String msgId, int cap, ItemWrite.Then then) {
        return new ItemWrite.AddToSet(
                Tables.TOPIC_MSG_MAP,
                topicKey(topic),
                Attr.ACKED_FIRST,
                Set.of(msgId),
                cap,
                EmqxMsgId.OLDEST_FIRST,
                List.of(then));
    }

    /** The acknowledged msgids leave the topic's pending set and their marks go, in one update. */
    public ItemWrite earlyAcksSettled(String topic, Set<String> msgIds) {
        return new ItemWrite.ConditionalUpdate(
                Tables.TOPIC_MSG_MAP,
                topicKey(topic),
                "DELETE #ids :ids, #early :ids",
                null,
                Map.of("#ids", Attr.MSG_ID_SET, "#early", Attr.ACKED_FIRST),
                Map.of(":ids", AttributeValue.fromSs(List.copyOf(msgIds))));
    }

    private static Map<String, AttributeValue> topicKey(String topic) {
        return Map.of(Attr.TOPIC, s(topic));
    }

    /** on_message_retain: the topic's retained message. */
    public ItemWrite retained(BrokerEvent.MessagePublished e) {
        Map<String, AttributeValue> item = messageAttributes(e);
        item.put(Attr.TOPIC, s(e.topic()));
        item.put(Attr.MSGID, s(e.msgId()));
        return new ItemWrite.Put(Tables.RETAIN, withPayload(item, e.payload()));
    }

    /**
     * on_retain_lookup: the broker's retained message for a topic mqtt_retain lacked, written only while the
     * topic still has no row (a retained message ingest stored meanwhile is newer and stays).
     */
    public ItemWrite retainedIfAbsent(BrokerEvent.MessagePublished e) {
        Map<String, AttributeValue> item = messageAttributes(e);
        item.put(Attr.MSGID, s(e.msgId()));
        item.put(Attr.TOPIC, s(e.topic()));
        item = new HashMap<>(withPayload(item, e.payload()));
        item.remove(Attr.TOPIC);
        Map<String, String> names = new HashMap<>();
        Map<String, AttributeValue> values = new HashMap<>();
        String set = setAll(item, names, values);
        names.put("#topic", Attr.TOPIC);
        return new ItemWrite.ConditionalUpdate(
                Tables.RETAIN, Map.of(Attr.TOPIC, s(e.topic())), set, "attribute_not_exists(#topic)", names, values);
    }

    /** An update expression that sets every attribute of {@code item}, its names and values put in the maps. */
    private static String setAll(
            Map<String, AttributeValue> item, Map<String, String> names, Map<String, AttributeValue> values) {
        StringBuilder set = new StringBuilder("SET ");
        int i = 0;
        for (Map.Entry<String, AttributeValue> attribute : item.entrySet()) {
            set.append(i == 0 ? "" : ", ")
                    .append("#a")
                    .append(i)
                    .append(" = :v")
                    .append(i);
            names.put("#a" + i, attribute.getKey());
            values.put(":v" + i, attribute.getValue());
            i++;
        }
        return set.toString();
    }

    /** on_retain_delete: an empty retained publish clears the topic's retained message. */
    public ItemWrite retainDeleted(BrokerEvent.MessagePublished e) {
        return new ItemWrite.Delete(Tables.RETAIN, Map.of(Attr.TOPIC, s(e.topic())));
    }

    /** on_message_acked_for_queue, first half: who acked which message of a topic. */
    public ItemWrite acked(BrokerEvent.MessageAcked e) {
        return new ItemWrite.Put(
                Tables.ACKED,
                Map.of(Attr.TOPIC, s(e.topic()), Attr.CLIENTID, s(e.clientId()), Attr.MSGID, s(e.msgId())));
    }

    /** on_message_acked_for_queue, second half: the acked message leaves the topic's pending set. */
    public ItemWrite consumed(BrokerEvent.MessageAcked e) {
        return consumed(e, List.of());
    }

    /**
     * ... made only while the msgid is pending; {@code then} decides what follows from the item as it was (it held
     * the msgid, or, when it did not, as read).
     */
    public ItemWrite consumed(BrokerEvent.MessageAcked e, List<ItemWrite.Then> then) {
        return new ItemWrite.RemoveFromSet(
                Tables.TOPIC_MSG_MAP, topicKey(e.topic()), Attr.MSG_ID_SET, Set.of(e.msgId()), then);
    }

    /** on_message_acked_for_queue with {@code acks.delete-message}: the acked message's item goes. */
    public ItemWrite messageDeleted(BrokerEvent.MessageAcked e) {
        return messageDeleted(e.msgId());
    }

    public ItemWrite messageDeleted(String msgId) {
        return new ItemWrite.Delete(Tables.MSG, Map.of(Attr.MSGID, s(msgId)));
    }

    private Map<String, AttributeValue> messageAttributes(BrokerEvent.MessagePublished e) {
        Map<String, AttributeValue> item = new HashMap<>();
        item.put(Attr.QOS, n(e.qos()));
        item.put(Attr.SENDER, s(e.sender()));
        item.put(Attr.RETAIN, e.retain() ? ONE : ZERO);
        item.put(Attr.ARRIVED, time(e.arrivedMillis()));
        return item;
    }

    /**
     * Adds the payload when it is within {@code max-stored-payload} and the whole item stays within
     * DynamoDB's 400 KB (names and values, as DynamoDB counts them); otherwise the item is stored without it,
     * flagged {@code payload_truncated} with the payload's size, so that the message is not lost whole.
     */
    private Map<String, AttributeValue> withPayload(Map<String, AttributeValue> item, byte[] payload) {
        AttributeValue value = payload.length > maxStoredPayload ? null : payloadValue(payload);
        if (value == null || ItemSize.of(item) + Attr.PAYLOAD.length() + ItemSize.of(value) > ItemSize.MAX_ITEM_BYTES) {
            truncated.increment();
            item.put(Attr.PAYLOAD_TRUNCATED, ONE);
            item.put(Attr.PAYLOAD_SIZE, n(payload.length));
        } else {
            item.put(Attr.PAYLOAD, value);
        }
        return item;
    }

    /** S when the payload is valid UTF-8 text, B (the exact bytes) otherwise. */
    public static AttributeValue payloadValue(byte[] payload) {
        Optional<String> text = Payloads.utf8(payload);
        return text.map(AttributeValue::fromS).orElseGet(() -> AttributeValue.fromB(SdkBytes.fromByteArray(payload)));
    }

    private AttributeValue time(long millis) {
        return n(timeUnit.fromMillis(millis));
    }

    private static Map<String, AttributeValue> clientKey(String clientId) {
        return Map.of(Attr.CLIENTID, s(clientId));
    }

    private static AttributeValue s(String value) {
        return AttributeValue.fromS(value == null ? "" : value);
    }

    private static AttributeValue n(long value) {
        return AttributeValue.fromN(Long.toString(value));
    }
}
