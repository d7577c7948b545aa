package io.mqttdynamo.config;

import io.quarkus.runtime.LaunchMode;
import io.vertx.core.Vertx;
import io.vertx.core.shareddata.LocalMap;

/**
 * What dev mode keeps across live reloads: the local DynamoDB server, the embedded broker and the recent
 * messages outlive the application that a reload stops, as Quarkus's Dev Services do.
 *
 * <p>Quarkus keeps its Vert.x instance for the whole dev mode session (its {@code VertxCoreRecorder} creates
 * it once in DEVELOPMENT and on restart only undeploys verticles; it is closed when dev mode ends), so what
 * the stopping application puts in Vert.x's local shared data the next one finds there. A reload loads the
 * application's classes anew: what is kept is of the JDK's or the libraries' types (or reached by
 * reflection).
 */
public final class LiveReload {

    private static final String KEPT = "mqtt-dynamo.live-reload";

    private LiveReload() {}

    /** Whether this is dev mode, where a live reload stops the application and starts it again in this JVM. */
    public static boolean devMode() {
        return LaunchMode.current() == LaunchMode.DEVELOPMENT;
    }

    /** Whether the application stops for a live reload: dev mode, and the JVM is not exiting. */
    public static boolean stoppingForReload() {
        return devMode() && !jvmExiting();
    }

    /** What the applications of one dev mode session hand on to each other. */
    public static LocalMap<String, Object> kept(Vertx vertx) {
        return vertx.sharedData().getLocalMap(KEPT);
    }

    /**
     * Whether the JVM is shutting down (Ctrl-C, SIGTERM, System.exit: dev mode stops the application from a
     * shutdown hook then). {@link Runtime#addShutdownHook} throws IllegalStateException "if the virtual machine
     * is already in the process of shutting down" (its Javadoc).
     */
    static boolean jvmExiting() {
        Thread probe = new Thread(() -> {}, "mqtt-dynamo-shutdown-probe");
        try {
            Runtime.getRuntime().addShutdownHook(probe);
            Runtime.getRuntime().removeShutdownHook(probe);
            return false;
        } catch (IllegalStateException e) {
            return true;
        }
    }
}
