package io.mqttdynamo.hooks;

import java.util.Arrays;
import java.util.Optional;

/** The EMQX DynamoDB backend's hook functions, by the names its configuration uses. */
public enum HookFunction {
    ON_CLIENT_CONNECTED,
    ON_CLIENT_DISCONNECTED,
    ON_SUBSCRIBE_LOOKUP,
    ON_CLIENT_SUBSCRIBED,
    ON_CLIENT_UNSUBSCRIBED,
    ON_MESSAGE_FETCH_FOR_QUEUE,
    ON_RETAIN_LOOKUP,
    ON_ACKED_DELETE,
    ON_MESSAGE_PUBLISH,
    ON_MESSAGE_RETAIN,
    ON_RETAIN_DELETE,
    ON_MESSAGE_ACKED_FOR_QUEUE;

    /** The name in configuration, e.g. {@code on_message_publish}. */
    public String configName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static Optional<HookFunction> byConfigName(String name) {
        return Arrays.stream(values()).filter(f -> f.configName().equals(name)).findFirst();
    }
}
