// Drives libkeygate_pkcs11.so through JDK 17's SunPKCS11 provider: loads the token as
// a KeyStore with the user PIN, lists its entries, signs a message with the private
// key of one entry, and checks the signature with that entry's certificate using the
// JDK's own providers (not the token).
//
// Usage: java ShimKeyStore.java CONFIG PIN ALIAS ALGORITHM MESSAGE_FILE SIGNATURE_OUT
// Prints one "entry ALIAS key=BOOL cert=BOOL" line per entry, then "signed N bytes"
// and "verified BOOL"; exits non-zero on any failure.

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.Security;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.Collections;

public class ShimKeyStore {
    public static void main(String[] args) throws Exception {
        if (args.length != 6) {
            System.err.println("usage: ShimKeyStore CONFIG PIN ALIAS ALGORITHM MESSAGE SIGNATURE_OUT");
            System.exit(2);
        }
        Provider p = Security.getProvider("SunPKCS11").configure(args[0]);
        Security.addProvider(p);
        KeyStore ks = KeyStore.getInstance("PKCS11", p);
        ks.load(null, args[1].toCharArray());
        for (String alias : Collections.list(ks.aliases())) {
            System.out.println("entry " + alias + " key=" + ks.isKeyEntry(alias)
                    + " cert=" + (ks.getCertificate(alias) != null));
        }
        PrivateKey key = (PrivateKey) ks.getKey(args[2], null);
        if (key == null) {
            throw new IllegalStateException("no private key under alias " + args[2]);
        }
        X509Certificate cert = (X509Certificate) ks.getCertificate(args[2]);
        byte[] message = Files.readAllBytes(Path.of(args[4]));

        Signature signer = Signature.getInstance(args[3], p);
        signer.initSign(key);
        signer.update(message);
        byte[] sig = signer.sign();
        Files.write(Path.of(args[5]), sig);
        System.out.println("signed " + sig.length + " bytes with " + signer.getProvider().getName());

        // Verified by the JDK's software providers: the token's provider was added
        // last, so it is never picked for a public-key-only operation ahead of them.
        Signature verifier = Signature.getInstance(args[3]);
        verifier.initVerify(cert.getPublicKey());
        verifier.update(message);
        boolean ok = verifier.verify(sig);
        System.out.println("verified " + ok + " with " + verifier.getProvider().getName());
        if (!ok) {
            System.exit(1);
        }
    }
}
