package io.mqttdynamo.broker.embedded;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.mqttdynamo.config.LiveReload;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.quarkus.logging.Log;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.shareddata.LocalMap;

/**
 * Dev mode's embedded broker, kept across live reloads so that connected clients stay connected and keep
 * their sessions and the retained messages.
 *
 * <p>A live reload loads the application's classes in a new class loader and closes the old one; Vert.x, Netty
 * and the other libraries stay loaded (Quarkus's base runtime class loader). So the broker's own classes
 * ({@code EmbeddedBroker}, its nested classes and what it uses of {@code io.mqttdynamo.domain}) are read
 * once from the compiled classes and defined by a class loader of their own over the libraries'
 * ({@link SnapshotLoader}); the running broker sits in Vert.x's local shared data ({@link LiveReload}), and
 * each application reaches it through {@link EmbeddedBrokerHandle} by reflection. When those classes or the
 * broker's settings change, a reload starts a new broker (clients reconnect).
 */
final class KeptBroker {

    private static final String BROKER = "embedded-broker";
    private static final String SETTINGS = "embedded-broker.settings";
    private static final String CODE = "embedded-broker.code";

    private KeptBroker() {}

    /** The broker dev mode runs: the one an earlier application left, or a new one. */
    static EmbeddedBrokerHandle startOrTakeOver(Vertx vertx, MqttDynamoConfig.EmbeddedBroker config) throws Exception {
        LocalMap<String, Object> kept = LiveReload.kept(vertx);
        Map<String, byte[]> classes = snapshot();
        String code = digest(classes);
        String settings = config.host() + ":" + config.port() + " " + config.node() + " mqtt5=" + config.mqtt5();
        Object running = kept.get(BROKER);
        if (running != null) {
            if (settings.equals(kept.get(SETTINGS)) && code.equals(kept.get(CODE))) {
                Log.debugf("embedded MQTT broker on %s:%d kept from before the reload", config.host(), config.port());
                return handle(running);
            }
            Log.infof(
                    "embedded MQTT broker restarted: its %s changed; its clients reconnect",
                    settings.equals(kept.get(SETTINGS)) ? "code" : "settings");
            stop(vertx);
        }
        Class<?> type =
                new SnapshotLoader(Vertx.class.getClassLoader(), classes).loadClass(EmbeddedBroker.class.getName());
        Object broker = type.getConstructor(String.class, boolean.class).newInstance(config.node(), config.mqtt5());
        @SuppressWarnings("unchecked")
        Future<Integer> listening = (Future<Integer>) type.getMethod("start", Vertx.class, String.class, int.class)
                .invoke(broker, vertx, config.host(), config.port());
        int port = listening.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        kept.put(BROKER, broker);
        kept.put(SETTINGS, settings);
        kept.put(CODE, code);
        Log.infof(
                "embedded MQTT broker listening on %s:%d (node %s); kept across live reloads",
                config.host(), port, config.node());
        return handle(broker);
    }

    /** Stops the kept broker, if any (dev mode ends). */
    static void stop(Vertx vertx) throws Exception {
        LocalMap<String, Object> kept = LiveReload.kept(vertx);
        Object running = kept.remove(BROKER);
        kept.remove(SETTINGS);
        kept.remove(CODE);
        if (running != null) {
            handle(running).stop().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        }
    }

    /** {@code broker} as this application's {@link EmbeddedBrokerHandle}, whichever class loader defined it. */
    static EmbeddedBrokerHandle handle(Object broker) {
        if (broker instanceof EmbeddedBrokerHandle same) {
            return same;
        }
        return (EmbeddedBrokerHandle) Proxy.newProxyInstance(
                EmbeddedBrokerHandle.class.getClassLoader(),
                new Class<?>[] {EmbeddedBrokerHandle.class},
                (proxy, method, args) -> {
                    if (method.getDeclaringClass() == Object.class) {
                        return switch (method.getName()) {
                            case "equals" -> proxy == args[0];
                            case "hashCode" -> System.identityHashCode(proxy);
                            default -> "kept " + broker;
                        };
                    }
                    Method target = broker.getClass().getMethod(method.getName(), method.getParameterTypes());
                    try {
                        return target.invoke(broker, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    /**
     * The compiled classes the broker runs on, by class name: {@code EmbeddedBroker} with its nested classes,
     * {@code EmbeddedBrokerHandle}, and the {@code io.mqttdynamo.domain} package. Read from the folder the
     * application's classes come from (dev mode compiles into {@code target/classes}).
     */
    static Map<String, byte[]> snapshot() throws IOException {
        URL self = EmbeddedBroker.class.getResource(EmbeddedBroker.class.getSimpleName() + ".class");
        if (self == null || !"file".equals(self.getProtocol())) {
            throw new IOException("the embedded broker's classes are not in a folder: " + self);
        }
        Path dir;
        try {
            dir = Path.of(self.toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IOException(e);
        }
        Path root = dir;
        for (int level = EmbeddedBroker.class.getPackageName().split("\\.").length; level > 0; level--) {
            root = root.getParent();
        }
        Map<String, byte[]> classes = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                String name = file.getFileName().toString();
                if (name.equals("EmbeddedBroker.class")
                        || name.startsWith("EmbeddedBroker$")
                        || name.equals("EmbeddedBrokerHandle.class")) {
                    classes.put(className(root, file), Files.readAllBytes(file));
                }
            }
        }
        Path domain = root.resolve(
                io.mqttdynamo.domain.TopicFilter.class.getPackageName().replace('.', '/'));
        try (Stream<Path> files = Files.walk(domain)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                if (file.getFileName().toString().endsWith(".class")) {
                    classes.put(className(root, file), Files.readAllBytes(file));
                }
            }
        }
        return classes;
    }

    private static String className(Path root, Path file) {
        String relative =
                root.relativize(file).toString().replace(file.getFileSystem().getSeparator(), ".");
        return relative.substring(0, relative.length() - ".class".length());
    }

    private static String digest(Map<String, byte[]> classes) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            classes.forEach((name, bytes) -> {
                sha.update(name.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                sha.update(bytes);
            });
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Defines the snapshot's classes itself, from the bytes read when the broker started (so that recompiled
     * classes never mix with the running ones), and leaves every other class to the libraries' loader.
     */
    static final class SnapshotLoader extends ClassLoader {

        private final Map<String, byte[]> classes;

        SnapshotLoader(ClassLoader libraries, Map<String, byte[]> classes) {
            super("mqtt-dynamo embedded broker (dev mode)", libraries);
            this.classes = Map.copyOf(classes);
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            synchronized (getClassLoadingLock(name)) {
                Class<?> type = findLoadedClass(name);
                if (type == null) {
                    byte[] bytes = classes.get(name);
                    type = bytes == null ? getParent().loadClass(name) : defineClass(name, bytes, 0, bytes.length);
                }
                if (resolve) {
                    resolveClass(type);
                }
                return type;
            }
        }
    }
}
