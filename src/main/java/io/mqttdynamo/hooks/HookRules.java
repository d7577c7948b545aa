package io.mqttdynamo.hooks;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.Config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.domain.TopicFilter;
import io.quarkus.logging.Log;

/**
 * Which hook functions run, and for which topics: the EMQX backend's
 * {@code backend.dynamo.hook.<point>.<n> = {"topic": …, "action": {"function": …}}} lines, then the
 * {@code mqtt-dynamo.hooks.<function>.*} switches on top.
 *
 * <p>Without any {@code backend.dynamo.hook.*} line every function runs for every topic. With them, the
 * seed's functions run only where a line names them, as in EMQX; the subscription-table functions, which
 * EMQX ran without a line, stay on.
 *
 * <p>Built when first injected (a singleton, no lazy proxy), which the start-up check does before anything
 * starts or connects: a misspelled function name stops the start-up instead of dropping messages.
 */
@Singleton
public class HookRules {

    static final String SEED_PREFIX = "backend.dynamo.hook.";
    /** The same lines as environment variables. */
    static final String SEED_ENV_PREFIX = "BACKEND_DYNAMO_HOOK_";

    private static final Set<HookFunction> ALWAYS_ON_IN_SEED =
            EnumSet.of(HookFunction.ON_CLIENT_SUBSCRIBED, HookFunction.ON_CLIENT_UNSUBSCRIBED);

    private final Map<HookFunction, List<TopicFilter>> rules;

    @Inject
    public HookRules(MqttDynamoConfig config, Config rawConfig) {
        Map<String, String> seedLines = new TreeMap<>();
        for (String name : rawConfig.getPropertyNames()) {
            if (name.startsWith(SEED_PREFIX)) {
                rawConfig.getOptionalValue(name, String.class).ifPresent(v -> seedLines.put(name, v));
            } else if (name.startsWith(SEED_ENV_PREFIX)) {
                // BACKEND_DYNAMO_HOOK_MESSAGE_PUBLISH_1: hook points have no underscores, so the name maps back.
                String dotted = name.toLowerCase(java.util.Locale.ROOT).replace('_', '.');
                rawConfig.getOptionalValue(name, String.class).ifPresent(v -> seedLines.put(dotted, v));
            }
        }
        this.rules = build(seedLines, config.hooks());
        rules.forEach((function, filters) -> Log.debugf("hook %s on %s", function.configName(), filters));
    }

    /** Rules from the given seed lines and switches; refuses bad configuration with the reason. */
    static Map<HookFunction, List<TopicFilter>> build(
            Map<String, String> seedLines, Map<String, MqttDynamoConfig.Hook> switches) {
        Map<HookFunction, List<TopicFilter>> result = new EnumMap<>(HookFunction.class);
        if (seedLines.isEmpty()) {
            for (HookFunction f : HookFunction.values()) {
                result.put(f, new ArrayList<>(List.of(TopicFilter.parse("#"))));
            }
        } else {
            for (HookFunction f : ALWAYS_ON_IN_SEED) {
                result.put(f, new ArrayList<>(List.of(TopicFilter.parse("#"))));
            }
            ObjectMapper json = new ObjectMapper();
            seedLines.forEach((name, value) -> {
                JsonNode line;
                try {
                    line = json.readTree(value);
                } catch (Exception e) {
                    throw new IllegalArgumentException(name + " is not JSON: expected "
                            + "{\"topic\": \"#\", \"action\": {\"function\": \"on_message_publish\"}}, got: " + value);
                }
                String functionName = line.path("action").path("function").asText("");
                HookFunction function = HookFunction.byConfigName(functionName)
                        .orElseThrow(() -> new IllegalArgumentException(
                                name + " names an unknown function '" + functionName + "'; known: " + knownNames()));
                TopicFilter filter = TopicFilter.parse(line.path("topic").asText("#"));
                result.computeIfAbsent(function, f -> new ArrayList<>()).add(filter);
            });
        }
        switches.forEach((name, hook) -> {
            HookFunction function = HookFunction.byConfigName(name)
                    .orElseThrow(() -> new IllegalArgumentException(
                            "mqtt-dynamo.hooks." + name + " names an unknown function;" + " known: " + knownNames()));
            if (!hook.enabled()) {
                result.remove(function);
            } else if (hook.topic().isPresent()) {
                result.put(
                        function,
                        new ArrayList<>(List.of(TopicFilter.parse(hook.topic().get()))));
            } else {
                result.putIfAbsent(function, new ArrayList<>(List.of(TopicFilter.parse("#"))));
            }
        });
        return result;
    }

    /** True when {@code function} is on and one of its filters matches {@code topic}. */
    public boolean applies(HookFunction function, String topic) {
        List<TopicFilter> filters = rules.get(function);
        if (filters == null) {
            return false;
        }
        for (TopicFilter filter : filters) {
            if (filter.matches(topic)) {
                return true;
            }
        }
        return false;
    }

    /** True when {@code function} is on for some topic. */
    public boolean enabled(HookFunction function) {
        return rules.containsKey(function);
    }

    private static String knownNames() {
        List<String> names = new ArrayList<>();
        for (HookFunction f : HookFunction.values()) {
            names.add(f.configName());
        }
        return String.join(", ", names);
    }
}
