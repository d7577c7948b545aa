package io.mqttdynamo.broker.embedded;

import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.mqttdynamo.config.Lifecycle;
import io.mqttdynamo.config.LiveReload;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.quarkus.arc.profile.IfBuildProfile;
import io.quarkus.logging.Log;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Vertx;

/**
 * Runs the embedded broker when {@code mqtt-dynamo.embedded-broker.enabled} is true (dev mode's default):
 * started before ingest connects, stopped with the application; in dev mode kept across live reloads
 * ({@link KeptBroker}). Built into dev mode and tests only: the production jar and the native executable do not
 * contain it.
 */
@ApplicationScoped
@IfBuildProfile(anyOf = {"dev", "test"})
public class EmbeddedBrokerService {

    private final MqttDynamoConfig.EmbeddedBroker config;
    private final Vertx vertx;
    private EmbeddedBrokerHandle broker;

    public EmbeddedBrokerService(MqttDynamoConfig config, Vertx vertx) {
        this.config = config.embeddedBroker();
        this.vertx = vertx;
    }

    void onStart(@Observes @Priority(Lifecycle.START_EMBEDDED_BROKER) StartupEvent event) throws Exception {
        if (!config.enabled()) {
            return;
        }
        try {
            if (LiveReload.devMode()) {
                broker = KeptBroker.startOrTakeOver(vertx, config);
                return;
            }
            EmbeddedBroker started = new EmbeddedBroker(config.node(), config.mqtt5());
            int port = started.start(vertx, config.host(), config.port())
                    .toCompletionStage()
                    .toCompletableFuture()
                    .get(10, TimeUnit.SECONDS);
            broker = started;
            Log.infof("embedded MQTT broker listening on %s:%d (node %s)", config.host(), port, config.node());
        } catch (ExecutionException e) {
            throw new IllegalStateException(
                    "the embedded MQTT broker cannot listen on " + config.host() + ":"
                            + config.port() + " (" + e.getCause().getMessage()
                            + "; another mqtt-dynamo dev mode?): stop"
                            + " what listens there, or set mqtt-dynamo.embedded-broker.port",
                    e.getCause());
        }
    }

    /** The running broker; empty when it is not enabled. */
    public Optional<EmbeddedBrokerHandle> broker() {
        return Optional.ofNullable(broker);
    }

    void onStop(@Observes @Priority(Lifecycle.STOP_EMBEDDED_BROKER) ShutdownEvent event) throws Exception {
        if (broker == null || LiveReload.stoppingForReload()) {
            // A live reload: the next application takes the broker over, its clients stay connected.
            return;
        }
        if (LiveReload.devMode()) {
            KeptBroker.stop(vertx);
        } else {
            broker.stop();
        }
    }
}
