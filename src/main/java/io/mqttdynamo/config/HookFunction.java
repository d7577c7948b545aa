package io.mqttdynamo.config;

import java.util.Arrays;
import java.util.Optional;

/** The EMQX DynamoDB backend's hook functions, by the names its configuration uses. */
public enum HookFunction {
    ON_CLIENT_CONNECTED("client.connected"),
    ON_CLIENT_DISCONNECTED("client.disconnected"),
    ON_SUBSCRIBE_LOOKUP("session.created"),
    ON_CLIENT_SUBSCRIBED("session.subscribed"),
    ON_CLIENT_UNSUBSCRIBED("session.unsubscribed"),
    ON_MESSAGE_FETCH_FOR_QUEUE("session.subscribed"),
    ON_RETAIN_LOOKUP("session.subscribed"),
    ON_ACKED_DELETE("session.unsubscribed"),
    ON_MESSAGE_PUBLISH("message.publish"),
    ON_MESSAGE_RETAIN("message.publish"),
    ON_RETAIN_DELETE("message.publish"),
    ON_MESSAGE_ACKED_FOR_QUEUE("message.acked");

    private final String hookPoint;

    HookFunction(String hookPoint) {
        this.hookPoint = hookPoint;
    }

    /** The name in configuration, e.g. {@code on_message_publish}. */
    public String configName() {
        return name().toLowerCase();
    }

    /** The EMQX hook point the function was attached to, e.g. {@code message.publish}. */
    public String hookPoint() {
        return hookPoint;
    }

    public static Optional<HookFunction> byConfigName(String name) {
        return Arrays.stream(values()).filter(f -> f.configName().equals(name)).findFirst();
    }
}
