package io.mqttdynamo.store;

import java.util.List;
import java.util.Map;

import software.amazon.awssdk.services.dynamodb.model.AttributeDefinition;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BillingMode;
import software.amazon.awssdk.services.dynamodb.model.CreateTableRequest;
import software.amazon.awssdk.services.dynamodb.model.GlobalSecondaryIndex;
import software.amazon.awssdk.services.dynamodb.model.KeySchemaElement;
import software.amazon.awssdk.services.dynamodb.model.KeyType;
import software.amazon.awssdk.services.dynamodb.model.ScalarAttributeType;

/**
 * The six tables of the EMQX DynamoDB backend (names, key schemas and attribute names, the contract
 * with everything else that reads them), their global secondary indexes, and the service's own small
 * table of counters.
 */
public enum Tables {
    CLIENT("mqtt_client", Attr.CLIENTID, null),
    SUB("mqtt_sub", Attr.CLIENTID, Attr.TOPIC),
    MSG("mqtt_msg", Attr.MSGID, null),
    TOPIC_MSG_MAP("mqtt_topic_msg_map", Attr.TOPIC, null),
    RETAIN("mqtt_retain", Attr.TOPIC, null),
    ACKED("mqtt_acked", Attr.TOPIC, Attr.CLIENTID),
    /**
     * Not the EMQX backend's: the service's counters (clients known and online) and the leases of jobs one
     * replica at a time runs ({@link ClusterLease}), a few small items.
     */
    STATS("mqtt_dynamo_stats", Attr.NAME, null);

    /** Attribute names, spelled as the EMQX backend spells them. */
    public static final class Attr {
        public static final String CLIENTID = "clientid";
        public static final String NODE = "node";
        public static final String CONNECT_STATE = "connect_state";
        public static final String ONLINE_AT = "online_at";
        public static final String OFFLINE_AT = "offline_at";
        public static final String TOPIC = "topic";
        public static final String QOS = "qos";
        public static final String MSGID = "msgid";
        public static final String SENDER = "sender";
        public static final String RETAIN = "retain";
        public static final String ARRIVED = "arrived";
        public static final String PAYLOAD = "payload";
        /** The set of a topic's msgids: capital M and I, as in EMQX. */
        public static final String MSG_ID_SET = "MsgId";
        /**
         * mqtt_topic_msg_map, not EMQX's: msgids whose acknowledgement was stored before the message, so that
         * the message, stored later by another replica, does not stay in {@code MsgId}.
         */
        public static final String ACKED_FIRST = "acked_first";
        /** Set to 1 when a payload was too large for a DynamoDB item and left out. */
        public static final String PAYLOAD_TRUNCATED = "payload_truncated";
        /** Size in bytes of a payload that was left out. */
        public static final String PAYLOAD_SIZE = "payload_size";
        /** Epoch seconds after which DynamoDB TTL may delete the item (when a message TTL is set). */
        public static final String EXPIRES_AT = "expires_at";
        /** AWS IoT's number of the client's connection (mqtt_client items from AWS IoT's events only). */
        public static final String VERSION_NUMBER = "version_number";
        /**
         * mqtt_client: the client's shard ({@link Indexes#shardOf}), present only while it is connected: the
         * hash key of the sparse index of online clients.
         */
        public static final String ONLINE_SHARD = "online_shard";
        /** mqtt_client: the client's shard, always present on items the service wrote: the client id index. */
        public static final String CLIENT_SHARD = "client_shard";
        /**
         * mqtt_client: the token of the last state update applied, and the {@code client_shard} and
         * {@code connect_state} it replaced ("-" and -1 for none): a retried update whose first try DynamoDB
         * applied without the service hearing of it is recognised, and counted from what it replaced.
         */
        public static final String WRITE_TOKEN = "write_token";

        public static final String PREVIOUS_CLIENT_SHARD = "previous_client_shard";
        public static final String PREVIOUS_CONNECT_STATE = "previous_connect_state";
        /** mqtt_dynamo_stats: prefix of a writer's token of its last counter change ({@code w_<writer hash>}). */
        public static final String WRITER_TOKEN_PREFIX = "w_";
        /** mqtt_dynamo_stats: the counter item's name. */
        public static final String NAME = "name";
        /** mqtt_dynamo_stats: clients in mqtt_client (counted by the service's writes). */
        public static final String KNOWN = "known";
        /** mqtt_dynamo_stats: clients connected. */
        public static final String ONLINE = "online";

        private Attr() {}
    }

    private final String tableName;
    private final String hashKey;
    private final String rangeKey;

    Tables(String tableName, String hashKey, String rangeKey) {
        this.tableName = tableName;
        this.hashKey = hashKey;
        this.rangeKey = rangeKey;
    }

    public String tableName() {
        return tableName;
    }

    public String hashKey() {
        return hashKey;
    }

    /** The range key, or null for a hash-only table. */
    public String rangeKey() {
        return rangeKey;
    }

    /** The key attributes of {@code item}. */
    public Map<String, AttributeValue> keyOf(Map<String, AttributeValue> item) {
        return rangeKey == null
                ? Map.of(hashKey, item.get(hashKey))
                : Map.of(hashKey, item.get(hashKey), rangeKey, item.get(rangeKey));
    }

    /** A string that identifies the item with {@code key} across all tables. */
    public String identity(Map<String, AttributeValue> key) {
        String hash = key.get(hashKey).s();
        return rangeKey == null
                ? tableName + '\u0000' + hash
                : tableName + '\u0000' + hash + '\u0000' + key.get(rangeKey).s();
    }

    public static Tables byName(String tableName) {
        for (Tables t : values()) {
            if (t.tableName.equals(tableName)) {
                return t;
            }
        }
        throw new IllegalArgumentException("not one of the service's tables: " + tableName);
    }

    /** The global secondary indexes the service reads (and creates or adds at start-up). */
    public List<GlobalSecondaryIndex> indexes() {
        return Indexes.of(this);
    }

    /** The CreateTable request with the EMQX key schema and the service's indexes (on-demand capacity). */
    public CreateTableRequest createRequest() {
        List<KeySchemaElement> keys = rangeKey == null
                ? List.of(key(hashKey, KeyType.HASH))
                : List.of(key(hashKey, KeyType.HASH), key(rangeKey, KeyType.RANGE));
        java.util.Set<String> attributes = new java.util.LinkedHashSet<>();
        attributes.add(hashKey);
        if (rangeKey != null) {
            attributes.add(rangeKey);
        }
        List<GlobalSecondaryIndex> indexes = indexes();
        indexes.forEach(index -> index.keySchema().forEach(k -> attributes.add(k.attributeName())));
        CreateTableRequest.Builder request = CreateTableRequest.builder()
                .tableName(tableName)
                .keySchema(keys)
                .attributeDefinitions(
                        attributes.stream().map(Tables::stringAttribute).toList())
                .billingMode(BillingMode.PAY_PER_REQUEST);
        if (!indexes.isEmpty()) {
            request.globalSecondaryIndexes(indexes);
        }
        return request.build();
    }

    static KeySchemaElement key(String name, KeyType type) {
        return KeySchemaElement.builder().attributeName(name).keyType(type).build();
    }

    static AttributeDefinition stringAttribute(String name) {
        return AttributeDefinition.builder()
                .attributeName(name)
                .attributeType(ScalarAttributeType.S)
                .build();
    }
}
