package io.mqttdynamo.delivery;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import jakarta.ws.rs.WebApplicationException;

import com.fasterxml.jackson.databind.JsonNode;

import io.mqttdynamo.config.MqttDynamoConfig;
import io.quarkus.rest.client.reactive.QuarkusRestClientBuilder;
import io.smallrye.mutiny.Uni;

/**
 * Subscribes clients through EMQX's REST API: version 5 ({@code subscribe/bulk}) or 4
 * ({@code subscribe_batch}), as the event dialect says. The credentials go into the Authorization
 * header only; nothing here logs them.
 */
final class EmqxApiSubscriber implements BrokerSubscriber {

    /** EMQX 4's result code for a client it does not know. */
    static final int V4_CLIENT_NOT_FOUND = 112;
    /**
     * EMQX 5's retain handling for restored subscriptions: retained messages only for a subscription the
     * session did not hold, so that a resumed session (or one that just subscribed itself) gets no
     * duplicates, and a session that lost the subscription gets them as on a fresh subscribe.
     */
    static final int RETAIN_HANDLING = 1;

    private final boolean v5;
    private final String url;
    private final String authorization;
    private final Emqx5Api api5;
    private final Emqx4Api api4;

    EmqxApiSubscriber(MqttDynamoConfig.EventDialect dialect, MqttDynamoConfig.Api config) {
        this.v5 = dialect == MqttDynamoConfig.EventDialect.EMQX5;
        this.url = config.url().orElseThrow();
        String credentials = config.key().orElseThrow() + ":" + config.secret().orElseThrow();
        this.authorization =
                "Basic " + Base64.getEncoder().encodeToString(credentials.getBytes(StandardCharsets.UTF_8));
        long timeoutMillis = config.timeout().toMillis();
        QuarkusRestClientBuilder builder = QuarkusRestClientBuilder.newBuilder()
                .baseUri(URI.create(url))
                .connectTimeout(timeoutMillis, TimeUnit.MILLISECONDS)
                .readTimeout(timeoutMillis, TimeUnit.MILLISECONDS);
        this.api5 = v5 ? builder.build(Emqx5Api.class) : null;
        this.api4 = v5 ? null : builder.build(Emqx4Api.class);
    }

    @Override
    public Uni<Outcome> subscribe(String clientId, Map<String, Integer> filters) {
        List<Map<String, Object>> body = new ArrayList<>(filters.size());
        filters.forEach((topic, qos) -> {
            Map<String, Object> subscription = new LinkedHashMap<>();
            subscription.put("topic", topic);
            subscription.put("qos", qos);
            if (v5) {
                subscription.put("nl", 0);
                subscription.put("rap", 0);
                subscription.put("rh", RETAIN_HANDLING);
            } else {
                subscription.put("clientid", clientId);
            }
            body.add(subscription);
        });
        if (v5) {
            return Uni.createFrom()
                    .deferred(() -> api5.subscribeBulk(clientId, authorization, body))
                    .map(EmqxApiSubscriber::v5Outcome)
                    .onFailure(EmqxApiSubscriber::notFound)
                    .recoverWithUni(notFound -> clientKnown(clientId));
        }
        return Uni.createFrom()
                .deferred(() -> api4.subscribeBatch(authorization, body))
                .map(EmqxApiSubscriber::v4Outcome);
    }

    /** EMQX 5 answers 200 with the subscriptions made, or with the ones that failed and why. */
    static Outcome v5Outcome(JsonNode response) {
        JsonNode failed = response == null ? null : response.get("failed");
        if (failed != null && failed.isArray() && !failed.isEmpty()) {
            List<String> reasons = new ArrayList<>();
            for (JsonNode failure : failed) {
                // data is [ClientID, Topic, Options]
                reasons.add(failure.path("data").path(1).asText("?") + " ("
                        + failure.path("reason").asText("?") + ")");
            }
            throw new IllegalStateException(
                    "EMQX 5 subscribed " + response.path("succeed").size() + " of "
                            + (response.path("succeed").size() + failed.size()) + " filters; refused: "
                            + String.join(", ", reasons));
        }
        return Outcome.SUBSCRIBED;
    }

    private static boolean notFound(Throwable failure) {
        return failure instanceof WebApplicationException e
                && e.getResponse() != null
                && e.getResponse().getStatus() == 404;
    }

    /**
     * A 404 of subscribe/bulk: the client left, or (EMQX before 5.7.2 behind a load balancer) the node that took
     * the request does not hold it. The cluster-wide client lookup tells them apart; the latter is retried.
     */
    private Uni<Outcome> clientKnown(String clientId) {
        return Uni.createFrom()
                .deferred(() -> api5.client(clientId, authorization))
                .onItem()
                .<Outcome>transformToUni(client -> Uni.createFrom().failure(new NodeWithoutClientException()))
                .onFailure(EmqxApiSubscriber::notFound)
                .recoverWithItem(Outcome.CLIENT_GONE);
    }

    /** The client is in the cluster, but the node that took the subscribe request does not hold it. */
    static final class NodeWithoutClientException extends RuntimeException {
        NodeWithoutClientException() {
            super("the EMQX node that took the request does not hold the client (EMQX before 5.7.2 answers 404 then);"
                    + " upgrade EMQX, or point mqtt-dynamo.broker.api.url at one node rather than a load balancer");
        }
    }

    /** EMQX 4 answers 200 with a code per request and per subscription. */
    static Outcome v4Outcome(JsonNode response) {
        int code = response == null ? 0 : response.path("code").asInt(0);
        if (code == V4_CLIENT_NOT_FOUND) {
            return Outcome.CLIENT_GONE;
        }
        if (code != 0) {
            throw new IllegalStateException("EMQX 4 answered code " + code);
        }
        for (JsonNode item : response.path("data")) {
            int itemCode = item.path("code").asInt(0);
            if (itemCode == V4_CLIENT_NOT_FOUND) {
                return Outcome.CLIENT_GONE;
            }
            if (itemCode != 0) {
                throw new IllegalStateException("EMQX 4 refused a subscription with code " + itemCode);
            }
        }
        return Outcome.SUBSCRIBED;
    }

    @Override
    public String describe() {
        return (v5 ? "EMQX 5 API " : "EMQX 4 API ") + url;
    }
}
