"""Classifiers and checks that turn photos, prompts and clips into typed signals.

Why NudeNet is optional: the `nudenet` wheel (3.4.2) declares MIT in its metadata, but the
licence file it actually ships, and the Ultralytics metadata inside its ONNX model, are AGPL-3.0.
Putting it in the default install would bind every deployment of Stillguard, including network
services, to AGPL terms. So it is an extra (`pip install 'stillguard[nudenet]'`) that an operator
chooses knowingly; without it `safety.nudenet_detector` reports `nudenet.exposed` as "not
evaluated" (never a fake score), and Open NSFW (MIT code, BSD-2 weights) stays the default
sexual-content classifier.
"""
