package io.mqttdynamo.store;

import static io.mqttdynamo.store.Tables.Attr;

import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.List;
import java.util.zip.CRC32;

import software.amazon.awssdk.services.dynamodb.model.GlobalSecondaryIndex;
import software.amazon.awssdk.services.dynamodb.model.KeyType;
import software.amazon.awssdk.services.dynamodb.model.Projection;
import software.amazon.awssdk.services.dynamodb.model.ProjectionType;

/**
 * The global secondary indexes the dashboard and the API query, so that a listing reads what it shows
 * and not the table:
 * <ul>
 * <li>{@value #ONLINE} on mqtt_client: hash {@code online_shard}, range {@code clientid}, all attributes.
 * Sparse: {@code online_shard} exists only while the client is connected (the connected update sets it, the
 * disconnected update removes it), so the index holds the online clients and nothing else.</li>
 * <li>{@value #CLIENT_IDS} on mqtt_client: hash {@code client_shard}, range {@code clientid}, keys only: client
 * id prefix search. Keys only, so connects and disconnects (which change no key) do not write it.</li>
 * <li>{@value #SUB_BY_TOPIC} on mqtt_sub: hash {@code topic} (no range key: a client id may be longer than
 * an index sort key may be): who subscribed to a filter.</li>
 * </ul>
 * The two mqtt_client indexes are split into {@value #SHARDS} shards ({@link #shardOf}), so that a connect
 * storm spreads over partitions; a listing queries every shard and merges them in client id order.
 */
public final class Indexes {

    public static final String ONLINE = "online_by_shard";
    public static final String CLIENT_IDS = "clientid_by_shard";
    public static final String SUB_BY_TOPIC = "sub_by_topic";
    /** Shards of the mqtt_client indexes; fixed, since it is part of what is stored. */
    public static final int SHARDS = 16;

    /**
     * DynamoDB's order of string sort keys: by their UTF-8 bytes, unsigned (not Java's UTF-16 order, which
     * differs for characters past U+FFFF against U+E000–U+FFFF).
     */
    public static final Comparator<String> KEY_ORDER = (a, b) ->
            java.util.Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));

    private Indexes() {}

    /** A client's shard: CRC-32 of its id's UTF-8 bytes modulo {@value #SHARDS}, as a decimal string. */
    public static String shardOf(String clientId) {
        CRC32 crc = new CRC32();
        crc.update(clientId.getBytes(StandardCharsets.UTF_8));
        return Integer.toString((int) (crc.getValue() % SHARDS));
    }

    /**
     * True when the client id can be the sort key of the mqtt_client indexes: at most 1024 bytes of UTF-8
     * (DynamoDB refuses a write whose index key attribute is over the limit).
     */
    public static boolean indexable(String clientId) {
        return KeyLimits.fits(clientId, KeyLimits.SORT_KEY_MAX_BYTES);
    }

    /** Every shard value. */
    public static List<String> shards() {
        return java.util.stream.IntStream.range(0, SHARDS)
                .mapToObj(Integer::toString)
                .toList();
    }

    static List<GlobalSecondaryIndex> of(Tables table) {
        return switch (table) {
            case CLIENT ->
                List.of(
                        index(ONLINE, Attr.ONLINE_SHARD, Attr.CLIENTID, ProjectionType.ALL),
                        index(CLIENT_IDS, Attr.CLIENT_SHARD, Attr.CLIENTID, ProjectionType.KEYS_ONLY));
            // hash key only: a client id (up to 2048 bytes in mqtt_sub) may be too long for an index sort key
            case SUB ->
                List.of(GlobalSecondaryIndex.builder()
                        .indexName(SUB_BY_TOPIC)
                        .keySchema(Tables.key(Attr.TOPIC, KeyType.HASH))
                        .projection(Projection.builder()
                                .projectionType(ProjectionType.ALL)
                                .build())
                        .build());
            default -> List.of();
        };
    }

    private static GlobalSecondaryIndex index(String name, String hash, String range, ProjectionType projection) {
        return GlobalSecondaryIndex.builder()
                .indexName(name)
                .keySchema(Tables.key(hash, KeyType.HASH), Tables.key(range, KeyType.RANGE))
                .projection(Projection.builder().projectionType(projection).build())
                .build();
    }

    /** The AWS CLI command that adds {@code index} to {@code table} (for a DynamoDB that the service cannot ask). */
    static String addCommand(Tables table, GlobalSecondaryIndex index) {
        StringBuilder definitions = new StringBuilder();
        StringBuilder keys = new StringBuilder();
        for (var key : index.keySchema()) {
            definitions.append(" AttributeName=").append(key.attributeName()).append(",AttributeType=S");
            keys.append(keys.length() == 0 ? "" : ",")
                    .append("{\"AttributeName\":\"")
                    .append(key.attributeName())
                    .append("\",\"KeyType\":\"")
                    .append(key.keyTypeAsString())
                    .append("\"}");
        }
        return "aws dynamodb update-table --table-name " + table.tableName() + " --attribute-definitions"
                + definitions + " --global-secondary-index-updates '[{\"Create\":{\"IndexName\":\""
                + index.indexName() + "\",\"KeySchema\":[" + keys + "],\"Projection\":{\"ProjectionType\":\""
                + index.projection().projectionTypeAsString() + "\"}}}]'";
    }
}
