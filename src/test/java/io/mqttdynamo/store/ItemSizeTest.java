package io.mqttdynamo.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.domain.EmqxMsgId;
import io.mqttdynamo.domain.ItemLimits;

import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

class ItemSizeTest {

    @Test
    void stringsCountInUtf8BytesAndNamesCountToo() {
        assertThat(ItemSize.of(Map.of("ab", AttributeValue.fromS("xyz")))).isEqualTo(5);
        assertThat(ItemSize.of(Map.of("t", AttributeValue.fromS("€")))).isEqualTo(1 + 3);
        assertThat(ItemSize.of(Map.of("t", AttributeValue.fromS("\uD83D\uDE00"))))
                .isEqualTo(1 + 4);
        assertThat(ItemSize.of(Map.of("b", AttributeValue.fromB(SdkBytes.fromByteArray(new byte[10])))))
                .isEqualTo(11);
        assertThat(ItemSize.of(Map.of("s", AttributeValue.fromSs(List.of("ab", "€")))))
                .isEqualTo(1 + 2 + 3);
    }

    @Test
    void numbersCountTwoDigitsToAByteAndOneMore() {
        assertThat(ItemSize.of(AttributeValue.fromN("1"))).isEqualTo(2);
        assertThat(ItemSize.of(AttributeValue.fromN("1563765995"))).isEqualTo(6);
        assertThat(ItemSize.of(AttributeValue.fromN("1000"))).isEqualTo(2);
    }

    /**
     * The largest msgid cap the configuration accepts keeps the worst mqtt_topic_msg_map item within DynamoDB's
     * limit: a topic key of 2048 bytes, the full set plus one largest addition, every msgid of the longest form,
     * counted by DynamoDB's rule and with a list's overhead for the set besides. One member more would not fit.
     */
    @Test
    void theLargestMsgIdCapKeepsTheTopicItemWithinTheItemLimit() {
        int members = ItemLimits.MAX_TOPIC_MSG_IDS_CAP + ItemLimits.MSG_ID_SET_ADDITION_MAX;
        List<String> ids = new java.util.ArrayList<>();
        for (int i = 0; i < members + 1; i++) {
            String id = EmqxMsgId.encode(java.nio.ByteBuffer.allocate(16)
                    .putLong(-1L)
                    .putLong(-1L - i)
                    .array());
            assertThat(id).hasSize(EmqxMsgId.MAX_LENGTH);
            ids.add(id);
        }
        String topic = "t/" + "€".repeat((KeyLimits.PARTITION_KEY_MAX_BYTES - 2) / 3);
        assertThat(KeyLimits.utf8Length(topic)).isEqualTo(KeyLimits.PARTITION_KEY_MAX_BYTES);

        Map<String, AttributeValue> item = Map.of(
                Tables.Attr.TOPIC,
                AttributeValue.fromS(topic),
                Tables.Attr.MSG_ID_SET,
                AttributeValue.fromSs(ids.subList(0, members)));
        assertThat(ItemSize.of(item) + 3 + members).isLessThanOrEqualTo(ItemSize.MAX_ITEM_BYTES);

        Map<String, AttributeValue> oneMore = Map.of(
                Tables.Attr.TOPIC, AttributeValue.fromS(topic), Tables.Attr.MSG_ID_SET, AttributeValue.fromSs(ids));
        assertThat(ItemSize.of(oneMore) + 3 + members + 1).isGreaterThan(ItemSize.MAX_ITEM_BYTES);
    }
}
