package io.mqttdynamo.config;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Certificates and private keys from PEM files, with the JDK alone: certificates, PKCS#8 keys
 * ({@code BEGIN PRIVATE KEY}), PKCS#1 RSA keys ({@code BEGIN RSA PRIVATE KEY}, the form AWS IoT hands out) and
 * SEC1 EC keys ({@code BEGIN EC PRIVATE KEY}, OpenSSL's {@code ecparam -genkey}), the last two rewrapped as
 * PKCS#8. Encrypted keys are refused with the command that decrypts them.
 */
public final class PemFiles {

    private static final Pattern BLOCK =
            Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \\1-----", Pattern.DOTALL);
    private static final String NO_KEY = "holds no private key (-----BEGIN PRIVATE KEY-----, -----BEGIN RSA PRIVATE"
            + " KEY----- or -----BEGIN EC PRIVATE KEY-----)";

    // Algorithm identifiers, as DER (tag, length, contents).
    private static final byte[] RSA_ENCRYPTION = {
        0x06, 0x09, 0x2A, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xF7, 0x0D, 0x01, 0x01, 0x01
    };
    private static final byte[] RSASSA_PSS = {
        0x06, 0x09, 0x2A, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xF7, 0x0D, 0x01, 0x01, 0x0A
    };
    private static final byte[] EC_PUBLIC_KEY = {0x06, 0x07, 0x2A, (byte) 0x86, 0x48, (byte) 0xCE, 0x3D, 0x02, 0x01};
    private static final byte[] ED25519 = {0x06, 0x03, 0x2B, 0x65, 0x70};
    private static final byte[] ED448 = {0x06, 0x03, 0x2B, 0x65, 0x71};
    private static final byte[] DER_NULL = {0x05, 0x00};
    private static final byte[] VERSION_0 = {0x02, 0x01, 0x00};
    private static final int SEQUENCE = 0x30;
    private static final int OCTET_STRING = 0x04;
    private static final int INTEGER = 0x02;
    private static final int OID = 0x06;
    private static final int EXPLICIT_0 = 0xA0;

    private PemFiles() {}

    /** What is wrong with a file, said so that it follows the file's name: "no such file", "is encrypted: …". */
    public static final class PemException extends Exception {
        private static final long serialVersionUID = 1L;

        PemException(String message) {
            super(message);
        }
    }

    private record Block(String type, String body) {}

    /** The certificates of {@code file}, in their order (a client certificate first, then its intermediates). */
    public static List<X509Certificate> certificates(Path file) throws PemException {
        List<Block> blocks = blocks(file);
        List<X509Certificate> certificates = new ArrayList<>();
        CertificateFactory factory;
        try {
            factory = CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException("no X.509 support in this JVM", e);
        }
        for (Block block : blocks) {
            if (!block.type().equals("CERTIFICATE")) {
                continue;
            }
            try {
                certificates.add(
                        (X509Certificate) factory.generateCertificate(new ByteArrayInputStream(decode(block))));
            } catch (CertificateException e) {
                throw new PemException("holds a damaged certificate (certificate " + (certificates.size() + 1) + ": "
                        + e.getMessage() + ")");
            }
        }
        if (certificates.isEmpty()) {
            if (blocks.stream().anyMatch(b -> b.type().endsWith("PRIVATE KEY"))) {
                throw new PemException(
                        "holds a private key, not a certificate (are the certificate and key files" + " swapped?)");
            }
            throw new PemException("holds no certificate (-----BEGIN CERTIFICATE-----)");
        }
        return certificates;
    }

    /** The private key of {@code file}: its first PKCS#8, PKCS#1 or SEC1 key. */
    public static PrivateKey privateKey(Path file) throws PemException {
        List<Block> blocks = blocks(file);
        for (Block block : blocks) {
            switch (block.type()) {
                case "PRIVATE KEY":
                    return pkcs8(decode(block));
                case "RSA PRIVATE KEY":
                    encryptedTraditional(block);
                    return pkcs8(der(
                            SEQUENCE,
                            VERSION_0,
                            der(SEQUENCE, RSA_ENCRYPTION, DER_NULL),
                            der(OCTET_STRING, decode(block))));
                case "EC PRIVATE KEY":
                    encryptedTraditional(block);
                    return sec1(decode(block), blocks);
                case "ENCRYPTED PRIVATE KEY":
                    throw encrypted();
                default:
                    break;
            }
        }
        if (blocks.stream().anyMatch(b -> b.type().equals("CERTIFICATE"))) {
            throw new PemException(
                    "holds a certificate, not a private key (are the certificate and key files" + " swapped?)");
        }
        throw new PemException(NO_KEY);
    }

    /**
     * Whether {@code key} is the private key of {@code certificate}: the same RSA modulus, or (other algorithms)
     * a signature made with the key that the certificate's public key verifies.
     */
    public static boolean matches(PrivateKey key, X509Certificate certificate) {
        PublicKey publicKey = certificate.getPublicKey();
        if (!key.getAlgorithm().equals(publicKey.getAlgorithm())) {
            return false;
        }
        if (key instanceof RSAPrivateCrtKey rsa && publicKey instanceof RSAPublicKey rsaPublic) {
            return rsa.getModulus().equals(rsaPublic.getModulus())
                    && rsa.getPublicExponent().equals(rsaPublic.getPublicExponent());
        }
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "EdDSA", "Ed25519", "Ed448" -> key.getAlgorithm();
            default -> null;
        };
        if (algorithm == null) {
            // No signature to try (RSASSA-PSS needs parameters): the TLS handshake will tell.
            return true;
        }
        try {
            byte[] probe = "mqtt-dynamo key check".getBytes(StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(publicKey);
            verifier.update(probe);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static List<Block> blocks(Path file) throws PemException {
        String text;
        try {
            // PEM is ASCII; ISO-8859-1 reads any byte, so a binary (DER) file is reported as holding no PEM block.
            text = Files.readString(file, StandardCharsets.ISO_8859_1);
        } catch (NoSuchFileException e) {
            throw new PemException("no such file");
        } catch (AccessDeniedException e) {
            throw new PemException("not readable by the service's user (" + System.getProperty("user.name") + ")");
        } catch (IOException e) {
            throw new PemException("cannot be read (" + e.getMessage() + ")");
        }
        List<Block> blocks = new ArrayList<>();
        Matcher matcher = BLOCK.matcher(text);
        while (matcher.find()) {
            blocks.add(new Block(matcher.group(1), matcher.group(2)));
        }
        if (blocks.isEmpty()) {
            throw new PemException("is not a PEM file (no -----BEGIN ...----- line; a DER file converts with"
                    + " openssl x509 -inform der, or openssl pkey -inform der, for a key)");
        }
        return blocks;
    }

    private static byte[] decode(Block block) throws PemException {
        String body = block.body();
        // RFC 1421 headers (Proc-Type, DEK-Info) end with an empty line before the base64.
        int headers = body.indexOf(':');
        if (headers >= 0) {
            int blank = body.replace("\r", "").indexOf("\n\n");
            body = blank >= 0 ? body.replace("\r", "").substring(blank + 2) : body;
        }
        try {
            return Base64.getMimeDecoder().decode(body.strip());
        } catch (IllegalArgumentException e) {
            throw new PemException("holds a damaged " + block.type() + " block (" + e.getMessage() + ")");
        }
    }

    private static void encryptedTraditional(Block block) throws PemException {
        if (block.body().contains("Proc-Type:") && block.body().contains("ENCRYPTED")) {
            throw encrypted();
        }
    }

    private static PemException encrypted() {
        return new PemException("holds an encrypted private key: the service reads unencrypted keys (keep the"
                + " file secret instead, e.g. in a Kubernetes Secret); decrypt it with"
                + " openssl pkcs8 -topk8 -nocrypt -in <file> -out <new file>");
    }

    private static PrivateKey pkcs8(byte[] encoded) throws PemException {
        String algorithm = algorithm(encoded);
        try {
            return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(encoded));
        } catch (GeneralSecurityException e) {
            throw new PemException(
                    "holds a " + algorithm + " private key that cannot be read (" + e.getMessage() + ")");
        }
    }

    /** The KeyFactory algorithm of a PKCS#8 PrivateKeyInfo. */
    private static String algorithm(byte[] encoded) throws PemException {
        DerReader info =
                new DerReader(encoded, 0, encoded.length).next(SEQUENCE).contents();
        info.next(INTEGER);
        Element identifier = info.next(SEQUENCE).contents().next(OID);
        byte[] oid = identifier.encoded();
        if (Arrays.equals(oid, RSA_ENCRYPTION)) {
            return "RSA";
        }
        if (Arrays.equals(oid, EC_PUBLIC_KEY)) {
            return "EC";
        }
        if (Arrays.equals(oid, ED25519)) {
            return "Ed25519";
        }
        if (Arrays.equals(oid, ED448)) {
            return "Ed448";
        }
        if (Arrays.equals(oid, RSASSA_PSS)) {
            return "RSASSA-PSS";
        }
        throw new PemException("holds a private key of an algorithm the service does not know (OID bytes " + hex(oid)
                + "); RSA, EC, Ed25519 and Ed448 are read");
    }

    /** An RFC 5915 ECPrivateKey as PKCS#8: the curve from its parameters, or from an EC PARAMETERS block. */
    private static PrivateKey sec1(byte[] encoded, List<Block> blocks) throws PemException {
        DerReader key = new DerReader(encoded, 0, encoded.length).next(SEQUENCE).contents();
        key.next(INTEGER);
        key.next(OCTET_STRING);
        byte[] curve = null;
        while (key.more()) {
            Element element = key.next();
            if (element.tag() == EXPLICIT_0) {
                curve = element.contents().next(OID).encoded();
            }
        }
        if (curve == null) {
            for (Block block : blocks) {
                if (block.type().equals("EC PARAMETERS")) {
                    byte[] parameters = decode(block);
                    curve = new DerReader(parameters, 0, parameters.length)
                            .next(OID)
                            .encoded();
                }
            }
        }
        if (curve == null) {
            throw new PemException("holds an EC private key that names no curve; convert it with"
                    + " openssl pkcs8 -topk8 -nocrypt -in <file> -out <new file>");
        }
        return pkcs8(der(SEQUENCE, VERSION_0, der(SEQUENCE, EC_PUBLIC_KEY, curve), der(OCTET_STRING, encoded)));
    }

    /** One DER element: tag, length and {@code parts} as contents. */
    private static byte[] der(int tag, byte[]... parts) {
        ByteArrayOutputStream contents = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            contents.writeBytes(part);
        }
        int length = contents.size();
        ByteArrayOutputStream out = new ByteArrayOutputStream(length + 6);
        out.write(tag);
        if (length < 0x80) {
            out.write(length);
        } else {
            int bytes = length < 0x100 ? 1 : length < 0x10000 ? 2 : length < 0x1000000 ? 3 : 4;
            out.write(0x80 | bytes);
            for (int i = bytes - 1; i >= 0; i--) {
                out.write(length >>> (8 * i));
            }
        }
        out.writeBytes(contents.toByteArray());
        return out.toByteArray();
    }

    private static String hex(byte[] bytes) {
        StringBuilder text = new StringBuilder();
        for (byte b : bytes) {
            text.append(String.format(Locale.ROOT, "%02x", b));
        }
        return text.toString();
    }

    /** A DER element: its tag and where its contents are. */
    private record Element(int tag, byte[] data, int header, int start, int end) {
        DerReader contents() {
            return new DerReader(data, start, end);
        }

        /** The whole element, tag and length included. */
        byte[] encoded() {
            return Arrays.copyOfRange(data, header, end);
        }
    }

    /** Reads DER elements one after the other, as far as a key's structure needs. */
    private static final class DerReader {
        private final byte[] data;
        private final int end;
        private int position;

        DerReader(byte[] data, int start, int end) {
            this.data = data;
            this.position = start;
            this.end = end;
        }

        boolean more() {
            return position < end;
        }

        Element next(int tag) throws PemException {
            Element element = next();
            if (element.tag() != tag) {
                throw damaged();
            }
            return element;
        }

        Element next() throws PemException {
            int header = position;
            if (end - position < 2) {
                throw damaged();
            }
            int tag = data[position++] & 0xFF;
            int length = data[position++] & 0xFF;
            if (length >= 0x80) {
                int bytes = length & 0x7F;
                if (bytes == 0 || bytes > 3 || end - position < bytes) {
                    throw damaged();
                }
                length = 0;
                for (int i = 0; i < bytes; i++) {
                    length = (length << 8) | (data[position++] & 0xFF);
                }
            }
            if (length > end - position) {
                throw damaged();
            }
            Element element = new Element(tag, data, header, position, position + length);
            position += length;
            return element;
        }

        private static PemException damaged() {
            return new PemException("holds a private key whose structure is damaged (not valid DER)");
        }
    }
}
