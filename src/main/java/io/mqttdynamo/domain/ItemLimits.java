package io.mqttdynamo.domain;

/**
 * DynamoDB's documented limits on the items of the EMQX backend's tables, where configuration and storage
 * both see them. An item is at most 400 KB: its attribute names and values together, strings and names in
 * UTF-8 bytes, a string set the bytes of its members; a partition key value is at most 2048 bytes, a sort
 * key value 1024 (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html,
 * "Items" and "Partition keys and sort keys";
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
 */
public final class ItemLimits {

    /** Largest item: attribute names and values together (1 KB = 1024 bytes). */
    public static final int MAX_ITEM_BYTES = 400 * 1024;
    /** Largest partition key value, in bytes of UTF-8. */
    public static final int PARTITION_KEY_MAX_BYTES = 2048;
    /** Largest sort key value, in bytes of UTF-8. */
    public static final int SORT_KEY_MAX_BYTES = 1024;

    /**
     * Most msgids one addition to a topic's set in mqtt_topic_msg_map carries: additions waiting for the same
     * item are folded up to this many, so that the set, before the addition's trim, holds at most the cap and
     * this many.
     */
    public static final int MSG_ID_SET_ADDITION_MAX = 1000;

    /**
     * Most values a set change's condition names one by one (an addition made unless a value is marked, a removal
     * made while every value is a member; a larger addition asks for no mark at all, removals fold no further):
     * DynamoDB takes an expression of at most 4 KB and 300 operators and functions (developer guide,
     * "Constraints", expression parameters); 50 values need about 2 KB and 150.
     */
    public static final int CONDITIONED_SET_CHANGE_MAX = 50;

    /** mqtt_topic_msg_map's attribute names: the key ({@code topic}) and the set ({@code MsgId}). */
    static final String TOPIC_MSG_MAP_KEY = "topic";

    static final String TOPIC_MSG_MAP_SET = "MsgId";

    /**
     * The largest {@code store.topic-msg-ids-cap} whose mqtt_topic_msg_map item stays within
     * {@link #MAX_ITEM_BYTES} in the worst case: a topic of {@link #PARTITION_KEY_MAX_BYTES} bytes, msgids of
     * {@link EmqxMsgId#MAX_LENGTH} characters, a full set receiving an addition of
     * {@link #MSG_ID_SET_ADDITION_MAX} before the oldest are trimmed. The documentation gives no overhead for a
     * set, so one is counted as for a list (3 bytes, and 1 per member): a margin, never an excess.
     */
    public static final int MAX_TOPIC_MSG_IDS_CAP = maxTopicMsgIdsCap();

    private ItemLimits() {}

    private static int maxTopicMsgIdsCap() {
        int names = TOPIC_MSG_MAP_KEY.length() + TOPIC_MSG_MAP_SET.length();
        int members = (MAX_ITEM_BYTES - names - PARTITION_KEY_MAX_BYTES - 3) / (EmqxMsgId.MAX_LENGTH + 1);
        return members - MSG_ID_SET_ADDITION_MAX;
    }
}
