package io.mqttdynamo.support;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A Mosquitto that takes TLS connections only, each with a client certificate its CA signed
 * ({@code require_certificate true}); the certificates ({@link TestCertificates}) are made at start. Two listeners:
 * {@link #port()} shows a certificate for localhost and 127.0.0.1, {@link #elsewherePort()} one for another name.
 */
public final class TlsMosquitto {

    // Kept in system properties: the resource that starts it and the test that reads them are loaded by different
    // class loaders.
    private static final String DIR = "io.mqttdynamo.test.tls-mosquitto.dir";
    private static final String PORT = "io.mqttdynamo.test.tls-mosquitto.port";
    private static final String ELSEWHERE_PORT = "io.mqttdynamo.test.tls-mosquitto.elsewhere-port";
    private static final String PID = "io.mqttdynamo.test.tls-mosquitto.pid";

    private TlsMosquitto() {}

    /** Makes the certificates and starts the broker; waits until both listeners listen. */
    public static void start() {
        try {
            // Mosquitto started as root reads its files as the user mosquitto: the folder and files are readable by
            // all (test certificates, gone when the broker stops).
            Path dir = Files.createTempDirectory(
                    "mqtt-dynamo-tls-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
            TestCertificates.generate(dir);
            int port = LocalDynamoDbResource.freePort();
            int elsewhere = LocalDynamoDbResource.freePort();
            Path log = dir.resolve("mosquitto.log");
            Files.createFile(log);
            String common = "cafile " + dir.resolve(TestCertificates.CA) + "\nrequire_certificate true\n";
            Files.writeString(
                    dir.resolve("mosquitto.conf"),
                    "per_listener_settings false\nallow_anonymous true\n"
                            + "persistence false\nmax_queued_messages 0\nlog_dest file " + log + "\n"
                            + "listener " + port + " 127.0.0.1\n" + common
                            + "certfile " + dir.resolve(TestCertificates.SERVER_CERT) + "\n"
                            + "keyfile " + dir.resolve(TestCertificates.SERVER_KEY) + "\n"
                            + "listener " + elsewhere + " 127.0.0.1\n" + common
                            + "certfile " + dir.resolve(TestCertificates.ELSEWHERE_CERT) + "\n"
                            + "keyfile " + dir.resolve(TestCertificates.ELSEWHERE_KEY) + "\n");
            try (Stream<Path> files = Files.list(dir)) {
                files.forEach(file -> file.toFile().setReadable(true, false));
            }
            log.toFile().setWritable(true, false);
            String binary = Files.exists(Path.of("/usr/sbin/mosquitto")) ? "/usr/sbin/mosquitto" : "mosquitto";
            Process process = new ProcessBuilder(
                            binary, "-c", dir.resolve("mosquitto.conf").toString())
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("mosquitto.out").toFile())
                    .start();
            System.setProperty(DIR, dir.toString());
            System.setProperty(PORT, Integer.toString(port));
            System.setProperty(ELSEWHERE_PORT, Integer.toString(elsewhere));
            System.setProperty(PID, Long.toString(process.pid()));
            for (int listener : List.of(port, elsewhere)) {
                await("mosquitto on " + listener).atMost(Duration.ofSeconds(10)).until(() -> {
                    try (Socket socket = new Socket()) {
                        socket.connect(new InetSocketAddress("127.0.0.1", listener), 200);
                        return true;
                    } catch (IOException e) {
                        if (!process.isAlive()) {
                            throw new IllegalStateException("mosquitto exited with code " + process.exitValue() + ": "
                                    + Files.readString(dir.resolve("mosquitto.out")) + Files.readString(log));
                        }
                        return false;
                    }
                });
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start mosquitto with TLS", e);
        }
    }

    /** Stops the broker and removes its files. */
    public static void stop() {
        String pid = System.clearProperty(PID);
        if (pid != null) {
            ProcessHandle.of(Long.parseLong(pid)).ifPresent(process -> {
                process.destroy();
                try {
                    process.onExit().get(10, TimeUnit.SECONDS);
                } catch (Exception e) {
                    process.destroyForcibly();
                }
            });
        }
        String dir = System.clearProperty(DIR);
        if (dir != null) {
            try (Stream<Path> files = Files.walk(Path.of(dir))) {
                files.sorted(Comparator.reverseOrder())
                        .forEach(file -> file.toFile().delete());
            } catch (IOException e) {
                // A temporary folder: left behind, no harm.
            }
        }
    }

    /** The listener whose certificate names localhost and 127.0.0.1. */
    public static int port() {
        return Integer.parseInt(System.getProperty(PORT));
    }

    /** The listener whose certificate names elsewhere.invalid only. */
    public static int elsewherePort() {
        return Integer.parseInt(System.getProperty(ELSEWHERE_PORT));
    }

    /** A file of {@link TestCertificates} by its name. */
    public static String file(String name) {
        return Path.of(System.getProperty(DIR)).resolve(name).toString();
    }

    /** What the broker logged so far (connections, TLS errors). */
    public static String log() {
        try {
            return Files.readString(Path.of(System.getProperty(DIR)).resolve("mosquitto.log"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
