package io.mqttdynamo.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

class ItemSizeTest {

    @Test
    void stringsCountInUtf8BytesAndNamesCountToo() {
        assertThat(ItemSize.of(Map.of("ab", AttributeValue.fromS("xyz")))).isEqualTo(5);
        assertThat(ItemSize.of(Map.of("t", AttributeValue.fromS("€")))).isEqualTo(1 + 3);
        assertThat(ItemSize.of(Map.of("t", AttributeValue.fromS("\uD83D\uDE00")))).isEqualTo(1 + 4);
        assertThat(ItemSize.of(Map.of("b", AttributeValue.fromB(SdkBytes.fromByteArray(new byte[10]))))).isEqualTo(11);
        assertThat(ItemSize.of(Map.of("s", AttributeValue.fromSs(List.of("ab", "€"))))).isEqualTo(1 + 2 + 3);
    }

    @Test
    void numbersCountTwoDigitsToAByteAndOneMore() {
        assertThat(ItemSize.of(AttributeValue.fromN("1"))).isEqualTo(2);
        assertThat(ItemSize.of(AttributeValue.fromN("1563765995"))).isEqualTo(6);
        assertThat(ItemSize.of(AttributeValue.fromN("1000"))).isEqualTo(2);
    }
}
