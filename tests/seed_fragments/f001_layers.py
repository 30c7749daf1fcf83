# seeds/001, 二、2 "常见的隐藏层类型" and 4 "常见优化器", 四 "PyTorch核心组件": the one-line examples
import torch
import torch.nn as nn
import torch.optim as optim

fc_layer = nn.Linear(in_features=128, out_features=64)  # 输入128维,输出64维
conv_layer = nn.Conv2d(in_channels=3, out_channels=16, kernel_size=3, stride=1, padding=1)
max_pool_layer = nn.MaxPool2d(kernel_size=2, stride=2)
lstm_layer = nn.LSTM(input_size=128, hidden_size=64, num_layers=2, batch_first=True)
bn_layer = nn.BatchNorm2d(num_features=16)
dropout_layer = nn.Dropout(p=0.5)

x = torch.tensor([1.0, 2.0], requires_grad=True)
y = x.sum(); y.backward(); print(x.grad)

class MyModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer1 = nn.Linear(10, 20)  # 定义层/参数
        self.layer2 = nn.Linear(20, 1)
    def forward(self, x):  # 必须重写: 定义数据如何流经网络
        x = torch.relu(self.layer1(x))
        x = self.layer2(x)
        return x
model = MyModel()

optimizer = optim.Adam(model.parameters(), lr=0.001, weight_decay=0.01)  # L2正则化强度0.01
adam = optim.Adam(model.parameters(), lr=0.001, betas=(0.9, 0.999))
rmsprop = optim.RMSprop(model.parameters(), lr=0.01, alpha=0.99)
adagrad = optim.Adagrad(model.parameters(), lr=0.01)
adadelta = optim.Adadelta(model.parameters(), lr=1.0, rho=0.9)
