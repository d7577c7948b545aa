package io.mqttdynamo.delivery;

import java.util.Map;

import io.smallrye.mutiny.Uni;

/** Subscribes a client on the broker on its behalf. */
interface BrokerSubscriber {

    /** What became of a request. */
    enum Outcome {
        /** The broker holds the subscriptions. */
        SUBSCRIBED,
        /** The broker has no session of that client (it left again). */
        CLIENT_GONE
    }

    /**
     * Subscribes {@code clientId} to {@code filters} (filter to QoS). Fails with
     * {@link jakarta.ws.rs.WebApplicationException} for an HTTP error status, other exceptions for
     * connection failures; lazy, so that a retry sends the request again.
     */
    Uni<Outcome> subscribe(String clientId, Map<String, Integer> filters);

    /** For logs: where the subscriptions go (no credentials). */
    String describe();
}
