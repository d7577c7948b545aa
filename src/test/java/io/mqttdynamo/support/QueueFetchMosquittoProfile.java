package io.mqttdynamo.support;

import java.util.HashMap;
import java.util.Map;

/**
 * {@link MosquittoProfile} with on_message_fetch_for_queue on the stored topics and the acks channel on:
 * the service publishes a topic's unconsumed messages again on the machine's Mosquitto.
 */
public class QueueFetchMosquittoProfile extends MosquittoProfile {

    @Override
    public Map<String, String> getConfigOverrides() {
        Map<String, String> config = new HashMap<>(super.getConfigOverrides());
        String hook = "{\"topic\": \"%s\", \"action\": {\"function\": \"%s\"}}";
        config.put(
                "backend.dynamo.hook.session.subscribed.1",
                String.format(hook, prefix() + "/data/stored/#", "on_message_fetch_for_queue"));
        config.put("backend.dynamo.hook.message.acked.1", String.format(hook, "#", "on_message_acked_for_queue"));
        config.put("mqtt-dynamo.queue-fetch.republish", "true");
        // Each variant its own sessions: a resumed session keeps the subscriptions an earlier variant made.
        config.put("mqtt-dynamo.broker.client-id", clientIdBase(getClass()));
        // and its own share group: a group member's session that is away still gets its share of messages.
        config.put("mqtt-dynamo.messages.topic", "$share/" + clientIdBase(getClass()) + "/" + prefix() + "/data/#");
        return config;
    }

    /** The service's client-id base under {@code profile}. */
    public static String clientIdBase(Class<? extends QueueFetchMosquittoProfile> profile) {
        return "mqttdynamo-qf-" + profile.getSimpleName().toLowerCase(java.util.Locale.ROOT) + "-" + TestRun.id();
    }

    /**
     * The same over MQTT 3.1.1 (no user properties, so copies are recognised by topic and payload), two
     * messages per subscription at most.
     */
    public static class Mqtt311 extends QueueFetchMosquittoProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> config = new HashMap<>(super.getConfigOverrides());
            config.put("mqtt-dynamo.broker.protocol-version", "3.1.1");
            config.put("mqtt-dynamo.queue-fetch.max-count", "2");
            return config;
        }
    }

    /** Envelope mode: the test plays EMQX's two rules on topics of its own. */
    public static class Envelopes extends QueueFetchMosquittoProfile {
        public static String publishTopic() {
            return prefix() + "/envelopes/message_publish";
        }

        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> config = new HashMap<>(super.getConfigOverrides());
            config.put("mqtt-dynamo.messages.mode", "envelope");
            config.put("mqtt-dynamo.messages.topic", publishTopic());
            return config;
        }
    }
}
