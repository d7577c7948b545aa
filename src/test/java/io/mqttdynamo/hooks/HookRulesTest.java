package io.mqttdynamo.hooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.domain.TopicFilter;

class HookRulesTest {

    private static final String SEED_PUBLISH =
            "{\"topic\": \"#\", \"action\": {\"function\": \"on_message_publish\"}, \"pool\": \"pool1\"}";

    @Test
    void withoutSeedLinesEveryFunctionRunsForEveryTopic() {
        var rules = HookRules.build(Map.of(), Map.of());
        assertThat(rules).containsOnlyKeys(HookFunction.values());
        assertThat(rules.get(HookFunction.ON_MESSAGE_PUBLISH)).containsExactly(TopicFilter.parse("#"));
    }

    @Test
    void seedLinesChooseTheFunctionsAndTheirTopics() {
        var rules = HookRules.build(
                Map.of(
                        "backend.dynamo.hook.message.publish.1",
                        SEED_PUBLISH.replace("\"#\"", "\"sensors/#\""),
                        "backend.dynamo.hook.message.publish.2",
                        SEED_PUBLISH.replace("\"#\"", "\"alarms/+\""),
                        "backend.dynamo.hook.client.connected.1",
                        "{\"action\": {\"function\": \"on_client_connected\"}, \"pool\": \"pool1\"}"),
                Map.of());
        assertThat(rules.get(HookFunction.ON_MESSAGE_PUBLISH))
                .containsExactlyInAnyOrder(TopicFilter.parse("sensors/#"), TopicFilter.parse("alarms/+"));
        assertThat(rules)
                .containsKeys(
                        HookFunction.ON_CLIENT_CONNECTED,
                        HookFunction.ON_CLIENT_SUBSCRIBED,
                        HookFunction.ON_CLIENT_UNSUBSCRIBED);
        assertThat(rules).doesNotContainKeys(HookFunction.ON_MESSAGE_RETAIN, HookFunction.ON_CLIENT_DISCONNECTED);
    }

    @Test
    void switchesTurnFunctionsOffOrNarrowThem() {
        var rules = HookRules.build(
                Map.of(),
                Map.of(
                        "on_message_retain", hook(false, null),
                        "on_message_publish", hook(true, "data/#")));
        assertThat(rules).doesNotContainKey(HookFunction.ON_MESSAGE_RETAIN);
        assertThat(rules.get(HookFunction.ON_MESSAGE_PUBLISH)).containsExactly(TopicFilter.parse("data/#"));
    }

    @Test
    void badLinesAreRefusedWithTheReason() {
        assertThatThrownBy(() -> HookRules.build(Map.of("backend.dynamo.hook.message.publish.1", "{oops"), Map.of()))
                .hasMessageContaining("backend.dynamo.hook.message.publish.1 is not JSON");
        assertThatThrownBy(() -> HookRules.build(
                        Map.of(
                                "backend.dynamo.hook.message.publish.1",
                                SEED_PUBLISH.replace("on_message_publish", "on_nothing")),
                        Map.of()))
                .hasMessageContaining("unknown function 'on_nothing'")
                .hasMessageContaining("on_message_publish");
        assertThatThrownBy(() -> HookRules.build(Map.of(), Map.of("on_typo", hook(true, null))))
                .hasMessageContaining("mqtt-dynamo.hooks.on_typo");
        assertThatThrownBy(() -> HookRules.build(
                        Map.of("backend.dynamo.hook.message.publish.1", SEED_PUBLISH.replace("\"#\"", "\"a/#/b\"")),
                        Map.of()))
                .hasMessageContaining("'#' must be a whole level");
    }

    private static MqttDynamoConfig.Hook hook(boolean enabled, String topic) {
        return new MqttDynamoConfig.Hook() {
            @Override
            public boolean enabled() {
                return enabled;
            }

            @Override
            public Optional<String> topic() {
                return Optional.ofNullable(topic);
            }
        };
    }

    @Test
    void functionNamesAreTheSeedsAndReadBack() {
        List<String> seed = List.of(
                "on_client_connected",
                "on_subscribe_lookup",
                "on_client_disconnected",
                "on_message_fetch_for_queue",
                "on_retain_lookup",
                "on_acked_delete",
                "on_message_publish",
                "on_message_retain",
                "on_retain_delete",
                "on_message_acked_for_queue");
        assertThat(List.of(HookFunction.values()))
                .extracting(HookFunction::configName)
                .containsExactlyInAnyOrderElementsOf(java.util.stream.Stream.concat(
                                seed.stream(),
                                java.util.stream.Stream.of("on_client_subscribed", "on_client_unsubscribed"))
                        .toList());
        for (String name : seed) {
            assertThat(HookFunction.byConfigName(name)).as(name).isPresent();
        }
        assertThat(HookFunction.byConfigName("on_mesage_publish")).isEmpty();
    }
}
