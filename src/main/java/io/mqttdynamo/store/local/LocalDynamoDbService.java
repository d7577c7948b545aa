package io.mqttdynamo.store.local;

import java.nio.file.Path;
import java.util.Optional;

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
 * Runs the local DynamoDB-compatible server when {@code mqtt-dynamo.local-dynamodb.enabled} is true (dev
 * mode's default), before anything talks to DynamoDB; stops it with the application. Built into dev mode
 * and tests only.
 *
 * <p>In dev mode the server outlives live reloads ({@link LiveReload}): the stopping application leaves it
 * running and the next one takes it over, by the process id this JVM noted when it started it. A server
 * of another process on the port (another dev mode) is never taken over: start-up fails and says so.
 */
@ApplicationScoped
@IfBuildProfile(anyOf = {"dev", "test"})
public class LocalDynamoDbService {

    private final MqttDynamoConfig.LocalDynamoDb config;
    private final Vertx vertx;
    private DynaliteServer server;

    public LocalDynamoDbService(MqttDynamoConfig config, Vertx vertx) {
        this.config = config.localDynamoDb();
        this.vertx = vertx;
    }

    void onStart(@Observes @Priority(Lifecycle.START_LOCAL_DYNAMODB) StartupEvent event) throws Exception {
        if (!config.enabled()) {
            return;
        }
        String where = config.dataPath().map(p -> ", data in " + p).orElse(", in memory");
        if (LiveReload.devMode()) {
            Optional<DynaliteServer> kept = takeOver();
            if (kept.isPresent()) {
                server = kept.get();
                Log.debugf(
                        "local DynamoDB-compatible server (dynalite) at %s kept from before the reload",
                        server.endpoint());
                return;
            }
        }
        server = DynaliteServer.start(
                Path.of(config.directory()),
                config.host(),
                config.port(),
                config.dataPath().map(Path::of));
        if (LiveReload.devMode()) {
            LiveReload.kept(vertx).put(key(), server.pid() + " " + settings());
        }
        Log.infof("local DynamoDB-compatible server (dynalite) at %s%s", server.endpoint(), where);
    }

    /** The server an earlier application of this dev mode left on the port, if its settings are still these. */
    private Optional<DynaliteServer> takeOver() {
        Object noted = LiveReload.kept(vertx).remove(key());
        if (!(noted instanceof String entry)) {
            return Optional.empty();
        }
        long pid = Long.parseLong(entry.substring(0, entry.indexOf(' ')));
        Optional<DynaliteServer> kept = DynaliteServer.adopt(pid, config.host(), config.port());
        if (kept.isPresent() && !entry.substring(entry.indexOf(' ') + 1).equals(settings())) {
            // Started with another data path or package: a new one replaces it.
            kept.get().close();
            return Optional.empty();
        }
        kept.ifPresent(k -> LiveReload.kept(vertx).put(key(), entry));
        return kept;
    }

    private String key() {
        return "dynalite " + config.host() + ":" + config.port();
    }

    private String settings() {
        return config.directory() + "|" + config.dataPath().orElse("");
    }

    void onStop(@Observes @Priority(Lifecycle.STOP_LOCAL_DYNAMODB) ShutdownEvent event) {
        if (server == null) {
            return;
        }
        if (LiveReload.stoppingForReload()) {
            // The next application takes it over; were there none, it ends with this JVM (see DynaliteServer).
            return;
        }
        if (LiveReload.devMode()) {
            LiveReload.kept(vertx).remove(key());
        }
        server.close();
    }
}
