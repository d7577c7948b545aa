package io.mqttdynamo.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Certificates made for a test run with {@code openssl}: a CA, a server certificate for localhost and 127.0.0.1,
 * one for another name, and client certificates with their keys in the forms the service reads.
 */
public final class TestCertificates {

    public static final String CA = "ca.pem";
    public static final String SERVER_CERT = "server.pem";
    public static final String SERVER_KEY = "server.key";
    /** A server certificate for {@code elsewhere.invalid} only, signed by the same CA. */
    public static final String ELSEWHERE_CERT = "elsewhere.pem";

    public static final String ELSEWHERE_KEY = "elsewhere.key";
    /** An RSA client certificate; its key as PKCS#8 ({@code BEGIN PRIVATE KEY}) and PKCS#1 (AWS IoT's form). */
    public static final String CLIENT_CERT = "client.pem";

    public static final String CLIENT_KEY_PKCS8 = "client-pkcs8.key";
    public static final String CLIENT_KEY_RSA = "client-rsa.key";
    /** The client key, encrypted with the password {@code secret}, as PKCS#8 and as traditional PEM. */
    public static final String CLIENT_KEY_ENCRYPTED_PKCS8 = "client-encrypted-pkcs8.key";

    public static final String CLIENT_KEY_ENCRYPTED_RSA = "client-encrypted-rsa.key";
    /** An EC (P-256) client certificate; its key as SEC1 after EC PARAMETERS (openssl ecparam), and as PKCS#8. */
    public static final String EC_CERT = "ec-client.pem";

    public static final String EC_KEY_SEC1 = "ec-sec1.key";
    public static final String EC_KEY_PKCS8 = "ec-pkcs8.key";
    /** An Ed25519 client certificate and key. */
    public static final String ED25519_CERT = "ed25519-client.pem";

    public static final String ED25519_KEY = "ed25519.key";
    /** An RSA key of no certificate. */
    public static final String STRANGER_KEY = "stranger.key";

    private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

    private TestCertificates() {}

    /** Makes them all in {@code dir}. */
    public static void generate(Path dir) {
        openssl(
                dir,
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                CA,
                "-subj",
                "/CN=mqtt-dynamo test CA",
                "-days",
                "2");
        leaf(
                dir,
                SERVER_CERT,
                SERVER_KEY,
                "/CN=localhost",
                "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
        leaf(
                dir,
                ELSEWHERE_CERT,
                ELSEWHERE_KEY,
                "/CN=elsewhere.invalid",
                "subjectAltName=DNS:elsewhere.invalid\nextendedKeyUsage=serverAuth\n");
        leaf(dir, CLIENT_CERT, CLIENT_KEY_PKCS8, "/CN=mqtt-dynamo-test-client", "extendedKeyUsage=clientAuth\n");
        openssl(dir, "rsa", "-in", CLIENT_KEY_PKCS8, "-traditional", "-out", CLIENT_KEY_RSA);
        openssl(
                dir,
                "pkcs8",
                "-topk8",
                "-in",
                CLIENT_KEY_PKCS8,
                "-out",
                CLIENT_KEY_ENCRYPTED_PKCS8,
                "-passout",
                "pass:secret");
        openssl(
                dir,
                "rsa",
                "-in",
                CLIENT_KEY_PKCS8,
                "-traditional",
                "-aes128",
                "-passout",
                "pass:secret",
                "-out",
                CLIENT_KEY_ENCRYPTED_RSA);
        openssl(dir, "ecparam", "-name", "prime256v1", "-genkey", "-out", EC_KEY_SEC1);
        openssl(dir, "pkcs8", "-topk8", "-nocrypt", "-in", EC_KEY_SEC1, "-out", EC_KEY_PKCS8);
        sign(dir, EC_KEY_SEC1, EC_CERT, "/CN=mqtt-dynamo-test-ec-client", "extendedKeyUsage=clientAuth\n");
        openssl(dir, "genpkey", "-algorithm", "ed25519", "-out", ED25519_KEY);
        sign(dir, ED25519_KEY, ED25519_CERT, "/CN=mqtt-dynamo-test-ed25519-client", "extendedKeyUsage=clientAuth\n");
        openssl(dir, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", STRANGER_KEY);
    }

    /** A new key in {@code keyFile} and its certificate, signed by the CA, in {@code certFile}. */
    private static void leaf(Path dir, String certFile, String keyFile, String subject, String extensions) {
        openssl(dir, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", keyFile);
        sign(dir, keyFile, certFile, subject, extensions);
    }

    private static void sign(Path dir, String keyFile, String certFile, String subject, String extensions) {
        try {
            Path csr = dir.resolve(certFile + ".csr");
            Path ext = dir.resolve(certFile + ".ext");
            Files.writeString(ext, "basicConstraints=CA:FALSE\n" + extensions);
            openssl(
                    dir,
                    "req",
                    "-new",
                    "-key",
                    keyFile,
                    "-out",
                    csr.getFileName().toString(),
                    "-subj",
                    subject);
            openssl(
                    dir,
                    "x509",
                    "-req",
                    "-in",
                    csr.getFileName().toString(),
                    "-CA",
                    CA,
                    "-CAkey",
                    "ca.key",
                    "-set_serial",
                    Long.toString(SERIAL.incrementAndGet()),
                    "-days",
                    "2",
                    "-extfile",
                    ext.getFileName().toString(),
                    "-out",
                    certFile);
            Files.delete(csr);
            Files.delete(ext);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void openssl(Path dir, String... args) {
        List<String> command = new ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        try {
            Process process = new ProcessBuilder(command)
                    .directory(dir.toFile())
                    .redirectErrorStream(true)
                    .start();
            String output = new String(process.getInputStream().readAllBytes());
            if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run openssl (needed to make the test's certificates)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
