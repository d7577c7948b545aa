package io.mqttdynamo.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

class CursorTest {

    @ParameterizedTest
    @ValueSource(
            strings = {
                "a\u0002b",
                "a\u0001b",
                "\u0001\u0002",
                "plain/topic",
                "a=b&c",
                "é€😀",
                "\"quoted\"\\",
                "line\nbreak",
                " "
            })
    void cursorsGiveBackTheKeyTheyWereMadeOf(String value) {
        Map<String, AttributeValue> retain = Map.of("topic", AttributeValue.fromS(value));
        assertThat(Cursor.decode(Tables.RETAIN, Cursor.encode(retain))).isEqualTo(retain);
        Map<String, AttributeValue> sub = Map.of(
                "clientid", AttributeValue.fromS(value + "\u0002c"), "topic", AttributeValue.fromS("\u0001" + value));
        assertThat(Cursor.decode(Tables.SUB, Cursor.encode(sub))).isEqualTo(sub);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {"not-a-cursor!", "e30", "W10", "eyJ0b3BpYyI6MX0", "eyJ0b3BpYyI6IiJ9", "eyJ4IjoieSJ9", "bnVsbA"})
    void malformedCursorsAreRefused(String cursor) {
        // e30 = {}, W10 = [], eyJ0b3BpYyI6MX0 = {"topic":1}, eyJ0b3BpYyI6IiJ9 = {"topic":""}, {"x":"y"}, null
        assertThatThrownBy(() -> Cursor.decode(Tables.RETAIN, cursor))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("invalid cursor");
    }

    @ParameterizedTest
    @ValueSource(ints = {2049, 3000})
    void cursorsWithKeysDynamoDbCannotHoldAreRefused(int bytes) {
        String json = "{\"topic\":\"" + "a".repeat(bytes) + "\"}";
        String cursor = Base64.getUrlEncoder().withoutPadding().encodeToString(json.getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> Cursor.decode(Tables.RETAIN, cursor))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("invalid cursor");
    }
}
