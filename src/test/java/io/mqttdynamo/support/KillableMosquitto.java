package io.mqttdynamo.support;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A Mosquitto without persistence on one port that a test kills and starts again, each start logging every packet. */
public final class KillableMosquitto {

    // Kept in system properties: the resource that starts the broker and the test that restarts it are loaded by
    // different class loaders. Without persistence a killed broker forgets every session; without a queue limit
    // a slow subscriber is sent everything; each start's log (log()) tells what that broker received,
    // sent and acknowledged, in the order it did it.

    private static final String PORT = "io.mqttdynamo.test.killable-mosquitto.port";
    private static final String PID = "io.mqttdynamo.test.killable-mosquitto.pid";
    private static final String LOG = "io.mqttdynamo.test.killable-mosquitto.log";

    private KillableMosquitto() {}

    /** The broker's port, the same for every start in this JVM. */
    public static int port() {
        synchronized (System.class) {
            String port = System.getProperty(PORT);
            if (port == null) {
                port = Integer.toString(LocalDynamoDbResource.freePort());
                System.setProperty(PORT, port);
            }
            return Integer.parseInt(port);
        }
    }

    /** Starts a broker on {@link #port()} with a new log and waits until it listens. */
    public static void start() {
        int port = port();
        try {
            Path log = Files.createTempFile("mosquitto-" + port + "-", ".log");
            // Mosquitto started as root writes as the user mosquitto.
            log.toFile().setWritable(true, false);
            Path config = Files.createTempFile("mosquitto-killable", ".conf");
            Files.writeString(
                    config,
                    String.join(
                            "\n",
                            List.of(
                                    "listener " + port + " 127.0.0.1",
                                    "allow_anonymous true",
                                    "persistence false",
                                    "max_queued_messages 0",
                                    "log_dest file " + log,
                                    "log_type all",
                                    "")));
            config.toFile().setReadable(true, false);
            log.toFile().deleteOnExit();
            config.toFile().deleteOnExit();
            String binary = Files.exists(Path.of("/usr/sbin/mosquitto")) ? "/usr/sbin/mosquitto" : "mosquitto";
            Process process = new ProcessBuilder(binary, "-c", config.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            System.setProperty(PID, Long.toString(process.pid()));
            System.setProperty(LOG, log.toString());
            await("mosquitto on " + port).atMost(Duration.ofSeconds(10)).until(() -> {
                try (Socket socket = new Socket()) {
                    socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
                    return true;
                } catch (IOException e) {
                    if (!process.isAlive()) {
                        throw new IllegalStateException("mosquitto exited with code " + process.exitValue());
                    }
                    return false;
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start mosquitto", e);
        }
    }

    /** Kills the running broker (SIGKILL) and waits until it is gone. */
    public static void kill() {
        String pid = System.getProperty(PID);
        if (pid == null) {
            return;
        }
        ProcessHandle.of(Long.parseLong(pid)).ifPresent(process -> {
            process.destroyForcibly();
            try {
                process.onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IllegalStateException("mosquitto " + pid + " did not end: " + e.getMessage(), e);
            }
        });
        System.clearProperty(PID);
    }

    /** The log of the broker started last. */
    public static Path log() {
        return Path.of(System.getProperty(LOG));
    }
}
