package io.mqttdynamo.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class KeyLimitsTest {

    @ParameterizedTest
    @ValueSource(strings = {"", "a", "é", "€", "😀", "a€😀é\u0001", "\ud800", "x\udc00y"})
    void countsUtf8Bytes(String value) {
        assertThat(KeyLimits.utf8Length(value)).isEqualTo(value.getBytes(StandardCharsets.UTF_8).length);
    }

    @Test
    void partitionKeysAreOneTo2048BytesOfUtf8() {
        assertThat(KeyLimits.partitionKey("topic", "a".repeat(2048))).hasSize(2048);
        assertThat(KeyLimits.partitionKey("topic", "€".repeat(682) + "aa")).isNotEmpty();
        // 683 "€" are 683 UTF-16 units but 2049 bytes
        assertThatThrownBy(() -> KeyLimits.partitionKey("topic", "€".repeat(683)))
                .isInstanceOfSatisfying(
                        KeyLimits.InvalidKeyException.class,
                        e -> assertThat(e.parameter()).isEqualTo("topic"))
                .hasMessageContaining("'topic'")
                .hasMessageContaining("2049 bytes")
                .hasMessageContaining("2048");
        assertThatThrownBy(() -> KeyLimits.partitionKey("topic", "")).hasMessageContaining("required");
        assertThatThrownBy(() -> KeyLimits.partitionKey("topic", null)).hasMessageContaining("required");
    }

    @Test
    void sortKeysAreOneTo1024BytesOfUtf8() {
        assertThat(KeyLimits.sortKey("t", "é".repeat(512))).hasSize(512);
        assertThatThrownBy(() -> KeyLimits.sortKey("t", "é".repeat(512) + "a")).hasMessageContaining("1024");
        assertThat(KeyLimits.fits("é".repeat(512) + "a", KeyLimits.SORT_KEY_MAX_BYTES))
                .isFalse();
        assertThat(KeyLimits.fits("é".repeat(512) + "a", KeyLimits.PARTITION_KEY_MAX_BYTES))
                .isTrue();
    }

    @Test
    void writesToKeysOverTheLimitsAreFoundPerTable() {
        assertThat(KeyLimits.problem(
                        Tables.RETAIN,
                        java.util.Map.of(
                                "topic",
                                software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromS(
                                        "€".repeat(1_100)))))
                .hasValueSatisfying(
                        problem -> assertThat(problem).contains("3300 bytes").contains("2048"));
        assertThat(KeyLimits.problem(
                        Tables.SUB,
                        java.util.Map.of(
                                "clientid", software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromS("c"),
                                "topic",
                                        software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromS(
                                                "a".repeat(1025)))))
                .hasValueSatisfying(problem -> assertThat(problem).contains("1024"));
        assertThat(KeyLimits.problem(
                        Tables.CLIENT,
                        java.util.Map.of(
                                "clientid", software.amazon.awssdk.services.dynamodb.model.AttributeValue.fromS("c"))))
                .isEmpty();
    }
}
