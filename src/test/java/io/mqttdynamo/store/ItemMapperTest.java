package io.mqttdynamo.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.domain.BrokerEvent;
import io.smallrye.config.SmallRyeConfigBuilder;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

class ItemMapperTest {

    private final ItemMapper items = new ItemMapper(
            new SmallRyeConfigBuilder()
                    .withMapping(MqttDynamoConfig.class)
                    .build()
                    .getConfigMapping(MqttDynamoConfig.class),
            new SimpleMeterRegistry());

    private static BrokerEvent.MessagePublished message(String topic, int payloadBytes) {
        byte[] payload = "p".repeat(payloadBytes).getBytes(StandardCharsets.UTF_8);
        return new BrokerEvent.MessagePublished(
                "Mjg4NDYzOTExMTcxNzQ5MTQwMjU1NzgyMDgxNzU1ODczMjJ",
                topic,
                1,
                true,
                "sender",
                payload,
                1_563_765_995_000L);
    }

    private static Map<String, AttributeValue> item(ItemWrite write) {
        return ((ItemWrite.Put) write).item();
    }

    @Test
    void aPayloadUnderTheLimitIsLeftOutWhenTheWholeItemWouldNotFit() {
        // 349 KB of payload and a 60 KB topic: each alone fits, together they pass DynamoDB's 400 KB.
        BrokerEvent.MessagePublished big = message("t/" + "x".repeat(60 * 1024), 349 * 1024);
        for (ItemWrite write : new ItemWrite[] {items.message(big), items.retained(big)}) {
            Map<String, AttributeValue> item = item(write);
            assertThat(item).doesNotContainKey("payload");
            assertThat(item.get("payload_truncated").n()).isEqualTo("1");
            assertThat(item.get("payload_size").n()).isEqualTo(Integer.toString(349 * 1024));
            assertThat(ItemSize.of(item)).isLessThanOrEqualTo(ItemSize.MAX_ITEM_BYTES);
        }
    }

    @Test
    void aPayloadThatFitsIsStoredWhole() {
        BrokerEvent.MessagePublished fits = message("t/short", 349 * 1024);
        Map<String, AttributeValue> item = item(items.message(fits));
        assertThat(item.get("payload").s()).hasSize(349 * 1024);
        assertThat(item).doesNotContainKey("payload_truncated");
        assertThat(ItemSize.of(item)).isLessThanOrEqualTo(ItemSize.MAX_ITEM_BYTES);
    }
}
